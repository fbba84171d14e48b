#!/usr/bin/env bash
# The web page of `mbert serve` (GET /) in a real browser: headless Chromium driven through
# chromedriver's W3C WebDriver REST API with curl. Starts the built CLI on the tiny MLM model
# (loopback, any free port), runs fill-mask and similarity from the page, checks what the page
# shows (rows with scores, a cosine in [-1, 1], an error from the server, the classifier note),
# and keeps a screenshot as an artifact. Chromium and chromedriver (Debian's chromium and
# chromium-driver, which scripts/run_tests.sh installs) are required: without them this fails.
# Usage: browser_test.sh BUILD_DIR SOURCE_DIR.
set -euo pipefail
build="$(cd "$1" && pwd)"
src="$(cd "$2" && pwd)"
work="$build/tests/serve/browser"
shot="$build/tests/serve/browser_screenshot.png"
mbert="$build/tools/mbert/mbert"
model="$src/tests/data/tiny-mlm"
chromium="${CHROMIUM:-chromium}"
chromedriver="${CHROMEDRIVER:-chromedriver}"
rm -rf "$work" "$shot"
mkdir -p "$work"
# fail also works inside $(...): the subshell signals the script, which then exits too.
main_pid=$$
trap 'exit 1' USR1
fail() {
  echo "FAIL: $*" >&2
  [ "$BASHPID" = "$main_pid" ] || kill -USR1 "$main_pid"
  exit 1
}
started=$SECONDS

# The browser: both binaries present, and Chromium able to render a page here.
for bin in "$chromium" "$chromedriver" curl; do
  command -v "$bin" >/dev/null ||
    fail "$bin is not installed (apt-get install chromium chromium-driver curl; scripts/run_tests.sh does)"
done
[ -x "$mbert" ] || fail "$mbert is not built"
# As root Chromium needs --no-sandbox; a small /dev/shm in containers needs --disable-dev-shm-usage.
chrome_args=(--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage "--window-size=900,1000")
if ! timeout 60 "$chromium" "${chrome_args[@]}" --dump-dom about:blank >"$work/chromium.log" 2>&1 ||
  ! grep -q "<html" "$work/chromium.log"; then
  fail "$chromium cannot render a page headless; it printed:
$(tail -n 20 "$work/chromium.log")"
fi
echo "browser: $("$chromium" --version 2>/dev/null | head -n1), $("$chromedriver" --version | head -n1)"

server_pid="" driver_pid="" session=""
driver_url=""
cleanup() {
  if [ -n "$session" ]; then
    curl --noproxy "*" -s -m 10 -X DELETE "$driver_url/session/$session" >/dev/null 2>&1 || true
  fi
  # SIGTERM (the server drains, then exits 0), SIGKILL after 10 s.
  for pid in $driver_pid $server_pid; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in $driver_pid $server_pid; do
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
  local limit=$1
  shift
  local deadline=$((SECONDS + limit))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

# The port a process printed in its log ($2: the sed pattern with the port as \1), or fail.
port_from_log() {
  sed -nE "s/$2/\1/p" "$1" | head -n1
}

# The server, on any free loopback port; it prints the port once it listens.
"$mbert" serve --host 127.0.0.1 --port 0 --threads 1 --model "$model" >"$work/server.log" 2>&1 &
server_pid=$!
server_port() { [ -n "$(port_from_log "$work/server.log" '.*listening on http:\/\/127\.0\.0\.1:([0-9]+).*')" ]; }
wait_for 60 server_port || fail "mbert serve did not start; it printed:
$(tail -n 20 "$work/server.log")"
base="http://127.0.0.1:$(port_from_log "$work/server.log" '.*listening on http:\/\/127\.0\.0\.1:([0-9]+).*')"
healthy() { curl --noproxy "*" -sf -m 2 "$base/health" >/dev/null; }
wait_for 30 healthy || fail "$base/health did not answer 200"
content_type="$(curl --noproxy "*" -s -m 10 -o "$work/page.html" -w '%{content_type}' "$base/")"
[ "$content_type" = "text/html; charset=utf-8" ] || fail "GET / is '$content_type', not text/html"
grep -q 'id="fm-input"' "$work/page.html" || fail "GET / is not the web page"
echo "server: $base, GET / $(wc -c <"$work/page.html") bytes of text/html"

# chromedriver, on any free port (loopback only, its default).
"$chromedriver" --port=0 >"$work/chromedriver.log" 2>&1 &
driver_pid=$!
driver_port() { [ -n "$(port_from_log "$work/chromedriver.log" '.*started successfully on port ([0-9]+).*')" ]; }
wait_for 30 driver_port || fail "$chromedriver did not start; it printed:
$(tail -n 20 "$work/chromedriver.log")"
driver_url="http://127.0.0.1:$(port_from_log "$work/chromedriver.log" '.*started successfully on port ([0-9]+).*')"

# One WebDriver command: METHOD PATH [JSON]; prints the response body.
wd() {
  local args=(--noproxy "*" -s -m 60 -X "$1" "$driver_url$2")
  [ $# -lt 3 ] || args+=(-H 'Content-Type: application/json' -d "$3")
  curl "${args[@]}" || fail "WebDriver $1 $2: no answer from chromedriver"
}
# The "value" string of a WebDriver response (JSON escapes \n, \" and \\ undone).
wd_string() {
  sed -nE 's/^\{"value":"(.*)"\}$/\1/p' <<<"$1" | sed -e 's/\\n/\n/g' -e 's/\\"/"/g' -e 's/\\\\/\\/g'
}
# The id of the element matching a CSS selector, or fail.
element() {
  local r
  r="$(wd POST "/session/$session/element" "{\"using\":\"css selector\",\"value\":\"$1\"}")"
  sed -nE 's/.*"element-6066-11e4-a52e-4f735466cecf":"([^"]+)".*/\1/p' <<<"$r" | grep . ||
    fail "no element $1 in the page: $r"
}
# How many elements match a CSS selector.
count() {
  wd POST "/session/$session/elements" "{\"using\":\"css selector\",\"value\":\"$1\"}" |
    grep -o 'element-6066-11e4-a52e-4f735466cecf' | wc -l
}
text_of() { wd_string "$(wd GET "/session/$session/element/$(element "$1")/text")"; }
type_into() {
  local id
  id="$(element "$1")"
  wd POST "/session/$session/element/$id/clear" '{}' >/dev/null
  wd POST "/session/$session/element/$id/value" "{\"text\":\"$2\"}" >/dev/null
}
click() { wd POST "/session/$session/element/$(element "$1")/click" '{}' >/dev/null; }

caps="{\"capabilities\":{\"alwaysMatch\":{\"browserName\":\"chrome\",\"goog:chromeOptions\":{\
\"binary\":\"$(command -v "$chromium")\",\"args\":[$(printf '"%s",' "${chrome_args[@]}" | sed 's/,$//')]}}}}"
reply="$(wd POST /session "$caps")"
session="$(sed -nE 's/.*"sessionId":"([^"]+)".*/\1/p' <<<"$reply")"
[ -n "$session" ] || fail "chromedriver could not start Chromium: $reply"
wd POST "/session/$session/url" "{\"url\":\"$base/\"}" >/dev/null
[ "$(wd_string "$(wd GET "/session/$session/title")")" = "mbert serve" ] || fail "the page's title"

# The page asked /info: the model list is filled in and the classifier section says why it is off.
models_listed() { [ "$(count '#model-select option')" -ge 1 ]; }
wait_for 20 models_listed || fail "the page did not list the models (/info): $(text_of '#model-info')"
grep -q "not a sequence classifier" <<<"$(text_of '#cls-note')" ||
  fail "the classification section does not say the model is no classifier: $(text_of '#cls-note')"
grep -q '"value":false' <<<"$(wd GET "/session/$session/element/$(element '#cls-run')/enabled")" ||
  fail "the classify button is enabled for a masked-LM model"

# Fill-mask: top 3 for one [MASK] -> three rows, each with a score.
type_into '#fm-topk' 3
type_into '#fm-input' 'Paris is the [MASK] of France.'
click '#fm-run'
rows_or_error() { [ "$(count '#fm-results tr.fm-row, #fm-results .error')" -ge 1 ]; }
wait_for 20 rows_or_error || fail "no fill-mask results after 20 s: $(text_of '#fm-results')"
results="$(text_of '#fm-results')"
[ "$(count '#fm-results .error')" -eq 0 ] || fail "fill-mask shows an error: $results"
rows="$(count '#fm-results tr.fm-row')"
scored="$(grep -cE '(^|[[:space:]])[01]\.[0-9]{4}([[:space:]]|$)' <<<"$results" || true)"
if [ "$rows" -ne 3 ] || [ "$scored" -ne 3 ]; then
  fail "fill-mask: expected 3 rows with scores, got $rows rows, $scored with scores: $results"
fi
fm_time="$(text_of '#fm-time')"
grep -qE '^round trip [0-9.]+ ms · server [0-9.]+ ms · inference [0-9.]+ ms$' <<<"$fm_time" ||
  fail "fill-mask timing line: $fm_time"
echo "fill-mask: $rows rows with scores ($fm_time)"

# The server's error message reaches the page: an input without [MASK] is 422.
type_into '#fm-input' 'No mask here.'
click '#fm-run'
shows_error() { [ "$(count '#fm-results .error')" -eq 1 ]; }
wait_for 20 shows_error || fail "no error shown for an input without [MASK]: $(text_of '#fm-results')"
error="$(text_of '#fm-results')"
grep -q "HTTP 422" <<<"$error" || fail "unexpected error text: $error"
echo "fill-mask error shown: $error"
type_into '#fm-input' 'The capital of France is [MASK].'
click '#fm-run'
wait_for 20 rows_or_error || fail "no fill-mask results after 20 s"

# Similarity: a cosine in [-1, 1].
type_into '#sim-a' 'A cat sits on the mat.'
type_into '#sim-b' 'A dog sleeps on the rug.'
click '#sim-run'
has_number() { grep -qE '^-?[0-9]' <<<"$(text_of '#sim-result')"; }
wait_for 20 has_number || fail "no similarity after 20 s: $(text_of '#sim-result')"
cosine="$(text_of '#sim-result')"
awk -v c="$cosine" 'BEGIN { exit !(c ~ /^-?[0-9]+\.[0-9]+$/ && c >= -1 && c <= 1) }' ||
  fail "similarity is not a number in [-1, 1]: '$cosine'"
echo "similarity: $cosine ($(text_of '#sim-time'))"

# The screenshot, kept as an artifact.
wd_string "$(wd GET "/session/$session/screenshot")" | base64 -d >"$shot" ||
  fail "the screenshot is not base64"
[ "$(head -c 4 "$shot" | tail -c 3)" = "PNG" ] || fail "the screenshot is not a PNG"
echo "screenshot: $shot ($(wc -c <"$shot") bytes)"
echo "browser test took $((SECONDS - started)) s"
echo "1 passed, 0 failed"
