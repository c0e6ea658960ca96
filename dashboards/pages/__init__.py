"""One module per page; each page is a thin view over a state class of ``dashboards.state``."""
