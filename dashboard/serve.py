"""Start the dashboard server with its libraries already imported.

``python -m engagekit_dashboard.serve [streamlit options]`` is ``streamlit run streamlit_app.py``
plus one thing: the library, its data stack and the chart code are imported, and a chart is drawn
once, before the server takes its first browser. Streamlit imports a script's modules on its
first run, in that browser's first page load; done here, that second or more is paid while the
server starts, not by the person opening the dashboard.
"""

from __future__ import annotations

import sys
from pathlib import Path

import plotly.graph_objects as go
import plotly.io
from streamlit.web.cli import main as streamlit_main

import engagekit  # noqa: F401 - imported for its import time, see above

APP = Path(__file__).resolve().with_name("streamlit_app.py")


def warm_charts() -> None:
    """Build and serialise a small figure: plotly loads most of its figure code on first use."""
    figure = go.Figure([go.Bar(x=[1], y=[1]), go.Scatter(x=[1], y=[1]), go.Heatmap(z=[[1]]),
                        go.Sankey(node={"label": ["a", "b"]}, link={"source": [0], "target": [1],
                                                                    "value": [1]})])
    plotly.io.to_json(figure)


def main(argv: list[str] | None = None) -> None:
    """Run the dashboard; ``argv`` are options for ``streamlit run`` (``--server.port 8502``)."""
    warm_charts()
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    streamlit_main(prog_name="streamlit")


if __name__ == "__main__":
    main()
