"""Probe builders for the state a model keeps in variables it updates at inference.

A variable the model assigns (a stateful RNN's state) stays a resource variable after
conversion, read and written by READ_VARIABLE / ASSIGN_VARIABLE; so does one it adds to or
subtracts from (a mixture-of-experts router's running counts, a metric's total):
``AssignVariableOp``, ``AssignAddVariableOp``, ``AssignSubVariableOp``.
"""

from __future__ import annotations

from typing import Any

from tools.probe.builders import HARNESS, X2, Builder


def _state(tf: Any, update: str) -> Any:
    """A module keeping state in a ``tf.Variable`` that its call updates with the input
    (``assign``, ``assign_add`` or ``assign_sub``).  An assigned state is returned read
    back (a stateful RNN reads it); an added-to or subtracted-from one, which the update
    reads itself, is not (the call returns ``x * 2.0``), so that every READ_VARIABLE the
    probe counts is the update's own."""
    class State(tf.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.v = tf.Variable(tf.zeros([1, 16]))

        def __call__(self, x: Any) -> Any:
            getattr(self.v, update)(x)
            if update == "assign":
                return self.v.read_value()
            return tf.multiply(x, 2.0, name=HARNESS)

    return State()


STATE_BUILDERS: dict[str, Builder] = {
    op: Builder(f"tf.Variable updated with the input by {update}"
                f"{' and read' if update == 'assign' else ', the input doubled returned'} "
                "(state)",
                (lambda u: lambda tf, keras, rng: _state(tf, u))(update), (X2,),
                resource_variables=True, harness=update != "assign")
    for op, update in (("AssignVariableOp", "assign"), ("AssignAddVariableOp", "assign_add"),
                       ("AssignSubVariableOp", "assign_sub"))
}
