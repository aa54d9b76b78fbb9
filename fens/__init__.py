"""fens: neural system identification of mouse V1 (data, models, training, analysis).

- :mod:`fens.dataset`: the Lurz et al. (ICLR 2021) file-tree format, its DataLoaders, the download;
- :mod:`fens.simulate`: a simulated V1 data set in that format, with known ground truth;
- :mod:`fens.models`: the LN model, a simple CNN, the Lurz et al. 2021 model, checkpoints;
- :mod:`fens.trainers`: ``train_model`` (Poisson loss, early stopping on validation correlation);
- :mod:`fens.utility.measures`: correlations, oracles, FEVE; :mod:`fens.utility.device`;
- :mod:`fens.analysis`: gradient receptive fields, most exciting inputs, in-silico experiments.
"""

__version__ = "0.1.0"
