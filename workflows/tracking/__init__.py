"""Where applications are stuck: 案件查詢 (search and export) and the bottleneck dashboard."""
