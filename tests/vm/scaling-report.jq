# The scaling table of `make bench-scaling` (tests/vm/bench.sh) from the
# `memphys bench --scaling SIZE --json` of each size's guest (jq -s, one file
# per size, in size order), tab-separated rows: with --arg part table those
# `memphys bench --scaling` prints for one guest (unsupported: the kinds that
# could not run, one line each); with flatness, the flatness
# over every size measured,
# which one guest's report cannot give (BenchScaling.Flatness: the largest
# deviation of a size's per-GiB median from the median of them; goal 10 %).

def two: (. * 100 | round) as $c | "\($c / 100 | floor).\($c % 100 | tostring | if length == 1 then "0" + . else . end)";
def one: (. * 10 | round) as $d | "\($d / 10 | floor).\($d % 10)";
def ms: (. * 1000) as $m | if $m >= 100 then ($m | round | tostring) else ($m | two) end;
def cell(f): if . == null then "-" else "\(.median | f) [\(.min | f)-\(.max | f)]" + (if .unstable then " !" else "" end) end;
def commas: tostring | if length <= 3 then . else (.[0:length - 3] | commas) + "," + .[length - 3:] end;
def faults: if . == null then "-"
    else "\(.pteFaults | commas)/\(.pmdFaults | commas)/\(.pudFaults | commas)"
        + (if .prefaulted > 0 then " +\(.prefaulted | commas)" else "" end) end;
def median: sort | length as $n | if $n % 2 == 1 then .[($n - 1) / 2] else (.[$n / 2 - 1] + .[$n / 2]) / 2 end;
def figure: {mmapSeconds: "mmap", touch4kSeconds: "touch 4K", touch2mSeconds: "touch 2M"}[.];

[.[].scaling[]] as $points
| if $part == "table" then
  (["kind", "size", "mmap/GiB", "touch 4K/GiB", "touch 2M/GiB", "PT KiB/GiB", "faults 4K (pte/pmd/pud)"] | join("\t")),
  ($points[] | select(.unsupported == null) | [.kind, "\(.length / 1073741824) GiB",
      (.perGiB.mmapSeconds | cell(ms)), (.perGiB.touch4kSeconds | cell(ms)), (.perGiB.touch2mSeconds | cell(ms)),
      (.pageTableBytesPerGiB | cell(. / 1024 | round | tostring)), (.faults4k | faults)] | join("\t"))
  elif $part == "unsupported" then
  ($points[] | select(.unsupported != null) | "\(.kind) \(.length / 1073741824) GiB: unsupported: \(.unsupported)")
  else
  (["kind", "figure", "deviation", "goal"] | join("\t")),
  ($points | group_by(.kind) | sort_by(.[0].kind as $k | $points | map(.kind) | index($k))[] as $group
      | ("mmapSeconds", "touch4kSeconds", "touch2mSeconds") as $metric
      | [$group[] | .perGiB[$metric].median // empty | select(. > 0)] as $medians
      | select($medians | length >= 2)
      | ($medians | median) as $middle
      | ($medians | map(. / $middle - 1 | fabs) | max) as $deviation
      | [$group[0].kind, ($metric | figure), "\($deviation * 100 | one) %", (if $deviation <= 0.10 then "met" else "missed" end)]
      | join("\t"))
  end
