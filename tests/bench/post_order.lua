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
