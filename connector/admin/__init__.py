"""The staff side: dashboard queries, admin users and their CLI, and the insights behind the charts."""
