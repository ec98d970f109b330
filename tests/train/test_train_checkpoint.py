"""A checkpoint with damaged files: one line naming the step, the directory and the remedy, on
resume and on loading a trained model; following the remedy resumes from the previous one."""

from __future__ import annotations

import shutil

import pytest
from flax import nnx
from toy_task import ToyTask, toy_config

from rnnjax.train.checkpoint import Checkpointer, CorruptCheckpoint, restore_params
from rnnjax.train.run import run


def test_truncated_shards_fail_in_one_line_naming_the_step_and_what_to_delete(tmp_path):
    config = toy_config(num_epochs=1, checkpoint_every_steps=4)
    run(ToyTask(config), tmp_path)
    directory = tmp_path / "checkpoints"
    assert Checkpointer(tmp_path).all_steps() == [4, 8]
    for shard in (directory / "8").rglob("d/*"):
        shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    message = (rf"^checkpoint: step 8 in {directory} must be readable, got damaged files "
               rf"\(.*\); delete {directory / '8'} to resume from the previous checkpoint "
               rf"\(step 4\)$")
    with pytest.raises(CorruptCheckpoint, match=message):
        run(ToyTask(toy_config(num_epochs=2, checkpoint_every_steps=4)), tmp_path)
    abstract = nnx.eval_shape(lambda: ToyTask(config).build_model(nnx.Rngs(0)))
    with pytest.raises(CorruptCheckpoint, match=message):
        restore_params(tmp_path, abstract)
    shutil.rmtree(directory / "8")
    resumed = run(ToyTask(toy_config(num_epochs=2, checkpoint_every_steps=4)), tmp_path)
    assert resumed["status"] == "complete" and resumed["steps"] == 16
