-- wrk: a GET that each connection repeats BENCH_PACE_MS apart (see
-- post_order.lua), for the static file's paced reference.
local pace = tonumber(os.getenv("BENCH_PACE_MS") or "0")
if pace > 0 then
  delay = function()
    return pace
  end
end
