-- wrk: POST /orders with a unique order per request.
local counter = 0
local threads = 0
setup = function(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
init = function(args)
  prefix = string.format("w%d-%d-%d-", os.time(), math.random(1000000), tid)
end
request = function()
  counter = counter + 1
  local body = string.format(
    '{"order_id":"%s%d","user_id":%d,"item_ids":[101,"sku-%d"],"total_amount":%d.%02d}',
    prefix, counter, counter % 1000, counter % 97, counter % 500, counter % 100)
  return wrk.format("POST", "/orders", {["Content-Type"] = "application/json"}, body)
end
-- BENCH_PACE_MS: each connection waits this long between its requests, so
-- that 1,000 connections offer a load below the server's capacity and the
-- latency measured is the service's, not the backlog's.
local pace = tonumber(os.getenv("BENCH_PACE_MS") or "0")
if pace > 0 then
  delay = function()
    return pace
  end
end
