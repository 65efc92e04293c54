"""Prediction: what integer conversion does to each op, from the probed capability tables.

The one place qlint reads the tables (rules and targets ask here; loaders never do):

`qlint.predict.tables`
    reading and checking the shipped tables, cached (`newest_table`).
`qlint.predict.patterns`
    which probed entry a TF op or Keras layer is (`match_pattern`) and the builtin it
    lowers to (`lower`, applied to every source graph after loading).
`qlint.predict.source`
    the predicted float fallbacks and conversion errors of a source graph (`predict`).
"""
