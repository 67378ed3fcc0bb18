"""The collapse monitor: sustained, once, step 0 ignored, resumable."""
from ssl_jax.evals.collapse import CollapseMonitor
from ssl_jax.methods import clustering


def _feed(monitor, ranks):
  return [monitor.update(step, {"feature_effective_rank": r}) for step, r in ranks]


def test_reports_once_after_patience_evaluations_in_a_row():
  m = CollapseMonitor(threshold=4.0, patience=2)
  # Step 0 (random init) never counts; a recovery resets the count.
  fired = _feed(m, [(0, 1.0), (100, 3.0), (200, 5.0), (300, 3.5), (400, 2.0), (500, 1.5)])
  assert fired == [False, False, False, False, True, False]
  assert m.below == [(300, 3.5), (400, 2.0), (500, 1.5)]


def test_a_non_finite_rank_counts_as_below():
  m = CollapseMonitor(threshold=4.0, patience=2)
  assert _feed(m, [(1, "nan"), (2, 3.0)]) == [False, True]


def test_resumes_from_the_records_of_the_run():
  records = [{"step": 0, "feature_effective_rank": 1.0}, {"step": 100, "loss": 2.0},
             {"step": 200, "feature_effective_rank": 3.0}]
  m = CollapseMonitor(threshold=4.0, patience=2)
  m.replay(records)
  assert _feed(m, [(300, 2.0)]) == [True]
  done = CollapseMonitor(threshold=4.0, patience=1)
  done.replay(records + [{"step": 300, "feature_effective_rank": 2.0, "collapse": 1.0}])
  assert _feed(done, [(400, 1.0)]) == [False]  # reported before the restart


def test_message_names_the_numbers_and_the_methods_usual_cause():
  m = CollapseMonitor(threshold=4.0, patience=2)
  _feed(m, [(100, 2.2), (200, 2.7)])
  mira = clustering.make_mira(dict(hidden_dim=8, out_dim=4), num_prototypes=10)
  text = m.message(mira, {"knn_top1": 12.7})
  assert "2.20 at step 100, 2.70 at step 200" in text and "12.7 %" in text
  assert "For MIRA this usually means targets too flat" in text
  assert "stop_on_collapse" in text


def test_plots_draw_the_reported_collapse_as_a_line_at_its_step(tmp_path):
  import json  # pylint: disable=g-import-not-at-top
  from ssl_jax.jobs import report  # pylint: disable=g-import-not-at-top
  records = [{"step": 0, "knn_top1": 10.0, "feature_effective_rank": 9.0, "loss": 3.0},
             {"step": 100, "knn_top1": 12.0, "feature_effective_rank": 1.5, "loss": 2.0},
             {"step": 200, "knn_top1": 12.5, "feature_effective_rank": 1.4, "loss": 1.9,
              "collapse": 1.0}]
  plt = report._pyplot()  # pylint: disable=protected-access
  fig, ax = plt.subplots()
  report._mark_collapse(records, ax)  # pylint: disable=protected-access
  assert [list(line.get_xdata()) for line in ax.lines] == [[200, 200]]
  fig, ax = plt.subplots()
  report._mark_collapse(records[:2], ax)  # pylint: disable=protected-access
  assert not ax.lines
  plt.close("all")
  with open(tmp_path / "metrics.jsonl", "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in records)
  assert len(report.write_plots(str(tmp_path))) == 2  # training and accuracy plots
