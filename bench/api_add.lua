-- wrk script for bench/api_add.py: POST /api/v2 action=add with a random funded account's
-- key (or always the first one: the hot-wallet variant), a fresh link each time.
local keys = {}
local service = os.getenv("BENCH_SERVICE")
local hot = os.getenv("BENCH_HOT") == "1"
local run = os.getenv("BENCH_RUN")  -- a fresh link in every run: never an overlapping order
for line in io.lines(os.getenv("BENCH_KEYS")) do
  if #line > 0 then keys[#keys + 1] = line end
end
local counter = 0
local thread_id = 0
ok, failed = 0, 0  -- globals: done() reads each thread's through thread:get

local threads = {}

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + (tid or 0))
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  counter = counter + 1
  local key = hot and keys[1] or keys[math.random(#keys)]
  local body = "action=add&key=" .. key .. "&service=" .. service ..
    "&quantity=100&link=https%3A%2F%2Finstagram.com%2Fwrk_" .. run .. "_" .. (tid or 0) .. "_" .. counter
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"order"', 1, true) then
    ok = ok + 1
  else
    failed = failed + 1
    if failed <= 3 then io.stderr:write("unexpected answer: " .. status .. " " .. body .. "\n") end
  end
end

function done(summary, latency, requests)
  local refused = 0
  for _, thread in ipairs(threads) do refused = refused + (thread:get("failed") or 0) end
  io.write(string.format("BENCH requests=%d seconds=%.3f p50_ms=%.2f p95_ms=%.2f failed=%d\n",
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, refused))
end
