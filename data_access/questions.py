"""Questions: what the replica answers, each declared once, next to its SQL.

A question is a function of a query module (``data_access/queries/``) decorated with
:func:`question`::

    @question(at="observation")
    def demand_supply(reader, filters=None, level="commune", at=None, scope=None, *, ...): ...

Its signature without ``reader`` and without its keyword-only parameters is the public
method's: ``replica.demand_supply(f, level="epci")``. Its docstring is the method's help,
followed by the French definitions of the indicators it computes, read from the registry
(:mod:`data_access.indicators`). Before calling it, the replica prepares the arguments by
name, so that no question repeats it:

- ``filters``: checked against the reference tables and the scope (French errors);
- ``scope``: the replica's scope narrowed by the call's, never widened;
- ``at``: resolved to a date, never after the data: the given date, else the last day of the
  filters' last month (``at="observation"``) or the data's last day (``at="today"``);
- keyword-only ``period``: the filters' period (default: the 12 last complete months);
- keyword-only ``reference_date``: the data's last complete day.

The answer is then cached per data version (``cached=False`` for a question built on other
questions, which are cached themselves). ``reader`` is the :class:`~data_access.Replica`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

#: Every declared question, by name (filled as the query modules are imported).
QUESTIONS: dict[str, Question] = {}

#: Keyword-only parameters the replica fills in.
INJECTED = ("period", "reference_date")


@dataclass(frozen=True)
class Question:
    """A declared question (see the module docstring)."""

    function: Callable[..., pd.DataFrame]
    #: How the public ``at`` argument is resolved: ``observation``, ``today`` or None.
    at: str | None = None
    #: False for a question built on cached questions.
    cached: bool = True
    #: False for a question a summary cannot answer (it reads what summaries do not copy):
    #: the live replica always answers it (:mod:`data_access.summaries`).
    summarised: bool = True

    @property
    def name(self) -> str:
        return self.function.__name__

    @property
    def public(self) -> list[inspect.Parameter]:
        """The public method's parameters (``self`` aside)."""
        params = list(inspect.signature(self.function).parameters.values())[1:]
        return [p for p in params if p.kind is not inspect.Parameter.KEYWORD_ONLY]

    @property
    def injected(self) -> list[str]:
        params = inspect.signature(self.function).parameters.values()
        return [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]

    def method(self) -> Callable[..., pd.DataFrame]:
        """The replica's public method for this question."""
        signature = inspect.Signature(
            [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD), *self.public],
            return_annotation=inspect.signature(self.function).return_annotation,
        )
        asked = self

        def method(self, *args, **kwargs):
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            del arguments["self"]
            return self.ask(asked, arguments)

        method.__name__ = method.__qualname__ = self.name
        method.__signature__ = signature
        method.__doc__ = self.doc()
        method.__wrapped_question__ = self
        return method

    def doc(self) -> str:
        """The function's docstring, then the French definitions of its indicators."""
        from data_access.indicators import of_question

        text = inspect.cleandoc(self.function.__doc__ or "")
        indicators = of_question(self.name)
        if indicators:
            lines = [f"- ``{i.code}`` : {i.label}. {i.definition}" for i in indicators]
            text += "\n\nIndicateurs (définitions affichées aux utilisateurs) :\n\n" + "\n".join(
                lines
            )
        return text


def question(*, at: str | None = None, cached: bool = True, summarised: bool = True):
    """Declare a question of the replica (see the module docstring)."""
    if at not in (None, "observation", "today"):
        raise ValueError(f"at={at!r}: observation, today or None")

    def register(function: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
        declared = Question(function, at=at, cached=cached, summarised=summarised)
        unknown = set(declared.injected) - set(INJECTED)
        if unknown:
            raise TypeError(f"{declared.name}: unknown keyword-only parameters {sorted(unknown)}")
        QUESTIONS[declared.name] = declared
        return function

    return register
