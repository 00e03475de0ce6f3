"""Azure Monitor Logs for the emulated clusters: what Container Insights collects of their containers' logs, kept in
Log Analytics tables per workspace, and the query API that answers KQL over them."""
