"""Background jobs (后台任务): long work — exports now, batch runs later — off the request path."""
