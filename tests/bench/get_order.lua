-- wrk: GET /orders/{id} of existing orders: ids "bench-1" .. "bench-N",
-- stored beforehand by POST /orders/populate (N from the environment).
local n = tonumber(os.getenv("BENCH_ORDERS") or "10000")
request = function()
  return wrk.format("GET", "/orders/bench-" .. math.random(n))
end
