"""The pytest layer: hooks (thin), options, the audit API and fixtures' objects, the end-of-run session,
records per evidence kind, JUnit properties, GPU set-up and baselines. The evidence comes from core/;
the report is rendered from results.json by report/."""
