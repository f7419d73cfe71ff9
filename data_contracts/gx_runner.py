"""The great-expectations end of the suite: one ephemeral context that validates a stacked batch.

Apart from great-expectations (imported when a GxRunner is made) this module needs nothing but
the standard library, so the worker process (gx_worker.py) that runs it never imports polars:
it hands great-expectations the pyarrow table it reads from its pipe. gx_suite.py builds the
stacks and maps the verdicts back to rows.
"""

from __future__ import annotations

import os

from data_contracts.errors import BlockingError


class GxRunner:
    """One ephemeral great-expectations context; one suite run per batch. A build runs it in its own
    process (gx_worker.py), so the import overlaps the reading."""

    def __init__(self) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx  # lazy: importing it takes ~3 s
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        self.source = self.context.data_sources.add_pandas("extracts")

    def run(self, extract: str, file_name: str, frame, specs: list[tuple]) -> list[tuple[dict, list[int]]]:
        """(meta, unexpected row positions) for each expectation that failed. ``frame``: the stacked
        batch, a polars DataFrame (in process) or the pyarrow Table the worker reads (both give the
        same pandas frame); ``specs`` are the (kind, regex, value set) of the expectations, one per
        stack kind (_expectation)."""
        gx = self.gx
        expectations = [_expectation(gx.expectations, *spec) for spec in specs]
        asset = self.source.add_dataframe_asset(extract)
        batch = asset.add_batch_definition_whole_dataframe(f"{extract}_all").get_batch(batch_parameters={"dataframe": frame.to_pandas()})
        # one suite built whole (adding expectations one by one re-serialises the suite each time)
        suite = gx.ExpectationSuite(name=f"{extract}_contract", expectations=expectations)
        result = batch.validate(
            suite,
            result_format={"result_format": "COMPLETE", "partial_unexpected_count": 0, "return_unexpected_index_query": False},
        )
        failed = []
        for item in result.results:
            info = item.exception_info or {}
            if info.get("raised_exception"):
                meta = dict(item.expectation_config.meta)
                raise BlockingError(
                    file_name,
                    "validation",
                    f"great-expectations could not evaluate rule {meta.get('rule')}: {info.get('exception_message')}",
                    column=meta.get("column"),
                )
            if not item.success:
                failed.append((dict(item.expectation_config.meta), list(item.result.get("unexpected_index_list") or [])))
        return failed


def _expectation(E, kind: str, regex: str | None, value_set: list[str]):
    """The one expectation that judges a stack kind."""
    meta = {"rule": kind, "column": kind}
    if kind == "required":
        return E.ExpectColumnValuesToNotBeNull(column=kind, meta=meta)
    if kind == "codes":
        return E.ExpectColumnValuesToBeInSet(column=kind, value_set=value_set, meta=meta)
    if kind == "pattern":
        return E.ExpectColumnValuesToMatchRegex(column=kind, regex=regex, meta=meta)
    return E.ExpectColumnValuesToBeBetween(column=kind, min_value=0, meta=meta)
