"""The report: every results.json under results/ -> the tables and plots each experiment declares
(``experiments/<experiment>/tables.py``; see ``experiments/report/tables.py``)."""
