"""One view builder per report section (template): each turns its part of results.json into what the
template lays out. report/context.py assembles them into the page's context."""
