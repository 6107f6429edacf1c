-- wrk script: rotates over the requests listed in the file named by BENCH_REQUESTS, one per
-- line as METHOD<TAB>PATH[<TAB>BODY], sending `Authorization: Bearer $BENCH_TOKEN` when set.
-- In a body, {seq} becomes digits unique to this thread and request (creates need unique
-- phones) and {num} the same as a plain integer; the counter starts at $BENCH_SEQ_START, so a
-- warm-up and the run after it use different numbers. With $BENCH_EXPECT_STATUS set, every response
-- is checked against that status (wrk itself counts only statuses above 399): responses with it and
-- without it are counted per thread. done() prints one line of JSON for the harness.

local token = os.getenv("BENCH_TOKEN")
local headers = {["Content-Type"] = "application/json"}
if token and token ~= "" then
  headers["Authorization"] = "Bearer " .. token
end

local items = {}
for line in io.lines(os.getenv("BENCH_REQUESTS")) do
  local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
  if method then
    items[#items + 1] = {method = method, path = path, body = body ~= "" and body or nil}
  end
end

local thread_count = 0
local threads = {}

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_index", thread_count - 1)
  threads[#threads + 1] = thread
end

-- Defined only when asked: wrk parses every response's headers for Lua once `response` exists.
local expected_status = tonumber(os.getenv("BENCH_EXPECT_STATUS") or "")
expected_count = 0
unexpected_count = 0
if expected_status then
  function response(status, headers, body)
    if status == expected_status then
      expected_count = expected_count + 1
    else
      unexpected_count = unexpected_count + 1
    end
  end
end

local position = 0
local counter = tonumber(os.getenv("BENCH_SEQ_START") or "0")

function init(args)
  -- Pre-build the fixed requests; threads start at different places in the rotation.
  for _, item in ipairs(items) do
    local templated = item.body and (item.body:find("{seq}", 1, true) or item.body:find("{num}", 1, true))
    if not templated then
      item.raw = wrk.format(item.method, item.path, headers, item.body)
    end
  end
  position = (thread_index * 7919) % #items
end

function request()
  position = position % #items + 1
  local item = items[position]
  if item.raw then
    return item.raw
  end
  counter = counter + 1
  local seq = string.format("%d%06d", thread_index, counter % 1000000)
  local body = item.body:gsub("{seq}", seq):gsub("{num}", tostring(tonumber(seq)))
  return wrk.format(item.method, item.path, headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  local statuses = ""
  if expected_status then
    local expected, unexpected = 0, 0
    for _, thread in ipairs(threads) do
      expected = expected + thread:get("expected_count")
      unexpected = unexpected + thread:get("unexpected_count")
    end
    statuses = string.format(', "expected_status": %d, "expected": %d, "unexpected": %d',
      expected_status, expected, unexpected)
  end
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f%s}\n',
    summary.requests, summary.duration, summary.bytes, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency.max, latency.mean, statuses))
end
