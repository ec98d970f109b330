"""Forecasting configs: ``get_config(variant)``, big_vision style.

    python -m rnnjax.data prepare --corpus=air_passengers
    python -m experiments.forecast --workdir=DIR [--config.data.path=FILE]
    python -m experiments.forecast --config=experiments/forecast/configs.py:gru --workdir=DIR \
        --config.data.path=ausbeer

``data.path`` is a named series (air_passengers, wineind, ausbeer, taylor, co2_weekly: prepare
it first) or a CSV file of your own (``timestamp,value``, wide ``timestamp,a,b,...`` or long
``series_id,timestamp,value``; see rnnjax/data/series.py). Any field can be overridden on the
command line, e.g. ``--config.model.hidden_size=32 --config.seeds=3``.
"""

from __future__ import annotations

import ml_collections
from ml_collections import config_dict

from rnnjax.train.config import optim_config, run_config, smoke_test
from rnnjax.validation import check_choice

VARIANTS = ("lstm", "gru", "quick")


def base() -> ml_collections.ConfigDict:
    """Fields shared by every variant: a 1 x 64 LSTM, direct decoder, 90% quantile head; an
    epoch is steps_per_epoch batches of random windows (0: training windows / batch_size),
    patience counts on the valid MASE."""
    c = run_config("lstm", num_epochs=20, steps_per_epoch=50, patience=6, log_every_steps=50,
                   checkpoint_every_steps=1000)
    c.baselines = "seasonal_naive,ets,arima"  # scored beside the model (rnnjax.forecasting)

    c.data = ml_collections.ConfigDict()
    c.data.path = "air_passengers"  # a named series or a CSV file
    c.data.data_dir = config_dict.placeholder(str)  # prepared series (default ~/.cache/rnnjax)
    c.data.columns = ""  # comma-separated series to use from the file ("": all)
    c.data.frequency = "auto"  # auto | monthly | quarterly | 30min | hourly | daily | ...
    c.data.period = 0  # seasonal period (0: the frequency's: 12 monthly, 4 quarterly, 48 ...)
    c.data.max_gap = 3  # interior runs of at most this many missing points are interpolated
    c.data.horizon = 0  # points forecast from each origin (0: the period, 8 without season)
    c.data.context = 0  # input points before each origin (0: 3 horizons)
    c.data.test_windows = 2  # rolling test origins; the test part is the last horizon x this
    c.data.valid_windows = 2  # rolling validation origins before the test part
    c.data.batch_size = 64  # training windows per batch

    c.model = ml_collections.ConfigDict()
    c.model.kind = "rnn_forecaster"  # rnnjax.models.RNNForecaster
    c.model.cell = "lstm"  # any rnnjax.cells.CELLS kind: lstm, gru, elman_tanh, ...
    c.model.hidden_size = 64  # units per layer
    c.model.num_layers = 1  # stacked recurrent layers
    c.model.decoder = "direct"  # direct (all steps from the last state) | autoregressive
    c.model.head = "quantile"  # point | gaussian | quantile
    c.model.level = 0.9  # coverage of the prediction interval
    c.model.point_loss = "mae"  # loss of the point head: mae | mse
    c.model.calendar = True  # season-phase features (sin, cos) as covariates
    c.model.dropout = 0.0  # between stacked layers
    c.model.impl = "auto"  # recurrence implementation, one of rnnjax.layers.IMPLS

    c.optim = optim_config(learning_rate=3e-3, lr_decay=0.9, lr_decay_after=5, clip_norm=1.0)
    return c


def lstm() -> ml_collections.ConfigDict:
    """1 x 64 LSTM, direct 90% quantile forecasts; the default (one seed).

    python -m experiments.forecast --workdir=results/forecast/air_passengers_lstm \
        --config.data.path=air_passengers --config.seeds=3
    """
    return base()


def gru() -> ml_collections.ConfigDict:
    """The default with a GRU cell.

    python -m experiments.forecast --config=experiments/forecast/configs.py:gru \
        --workdir=results/forecast/air_passengers_gru --config.seeds=3
    """
    c = base()
    c.name = "gru"
    c.model.cell = "gru"
    return c


def quick() -> ml_collections.ConfigDict:
    """Smoke test: a tiny LSTM, 2 epochs of 3 steps, seasonal naive only; seconds on a CPU.

    python -m experiments.forecast --config=experiments/forecast/configs.py:quick \
        --workdir=/tmp/forecast_quick --config.data.path=FILE
    """
    c = smoke_test(base(), num_epochs=2)
    c.baselines = "seasonal_naive"
    c.data.batch_size = 8
    c.model.hidden_size = 8
    return c


def get_config(variant: str | None = None) -> ml_collections.ConfigDict:
    """The config of ``variant`` (default ``lstm``)."""
    return globals()[check_choice("get_config", "variant", variant or "lstm", VARIANTS)]()
