"""The Neural Programmer on random tables and templated questions (Neelakantan, Le & Sutskever
2016, section 3)."""
