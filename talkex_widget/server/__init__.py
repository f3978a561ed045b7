"""The transport-free ChatService and the Tornado shell around it; imports core and backends."""
