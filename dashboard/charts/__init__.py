"""Plotly figures and their number tables, drawn from metric tables exactly as get_table returns them.

No streamlit here and no statistics: a chart only places the numbers a frame already holds. Hover
text is built from the same visible columns, so a chart of a suppressed frame can never reveal a
hidden cell. Colours come from theme.py by meaning; meaning is also in text (legend names, labels);
numbers are written in the one number style (metrics/formats.py).

One module per job: layout (what every chart shares), comparisons (groups against the reference),
distributions (crosstabs, time to resolve, funnel, targets), status (STRIDE, IOPC, data quality,
SPOC), benchmarks (other forces), tables (the numbers beside every chart). Pages use the names below.
"""

from dashboard.charts.benchmarks import force_trend, representation_funnel
from dashboard.charts.comparisons import VERDICT_INK, rate_chart, ratio_chart, stage_chart, trend_chart
from dashboard.charts.distributions import (
    crosstab_chart,
    funnel_chart,
    line_chart,
    survival_chart,
    target_chart,
)
from dashboard.charts.layout import (
    NOTE_CHARS,
    NOTHING,
    PLOTLY_CONFIG,
    describe,
    empty_figure,
    log_ticks,
    note_text,
)
from dashboard.charts.status import bar_chart, heatmap, progress_chart, rag_history_chart, stacked_bar
from dashboard.charts.tables import crosstab_wide, display_frame, format_value

__all__ = [
    "NOTE_CHARS", "NOTHING", "PLOTLY_CONFIG", "VERDICT_INK", "bar_chart", "crosstab_chart",
    "crosstab_wide", "describe", "display_frame", "empty_figure", "force_trend", "format_value",
    "funnel_chart", "heatmap", "line_chart", "log_ticks", "note_text", "progress_chart", "rag_history_chart",
    "rate_chart", "ratio_chart", "representation_funnel", "stacked_bar", "stage_chart", "survival_chart",
    "target_chart", "trend_chart",
]
