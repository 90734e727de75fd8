"""The stop signal's own logic: what a Stop runs, when, and what it leaves alone. With the real
model, `tests/assistant/models/test_llm_server.py` and the browser test check that a Stop ends
the model's work."""

from __future__ import annotations

import logging
import threading

from assistant.models.stopping import StopSignal, on_stop, stop_requested


def test_a_stop_runs_the_actions_of_calls_under_way_and_only_those():
    signal, ran = StopSignal(), []
    with signal.current():
        with on_stop(lambda: ran.append("finished call")):
            pass
        with on_stop(lambda: ran.append("running call")):
            assert not stop_requested()
            threading.Thread(target=signal.stop).start()  # Stop comes from another thread
            for _ in range(1000):
                if ran:
                    break
                threading.Event().wait(0.01)
            assert stop_requested()
    assert ran == ["running call"]
    assert not stop_requested()  # outside the block no signal is current


def test_a_call_that_starts_after_stop_is_stopped_at_once():
    signal, ran = StopSignal(), []
    signal.stop()
    with signal.current(), on_stop(lambda: ran.append("late call")):
        assert ran == ["late call"]


def test_without_a_signal_nothing_is_stopped():
    ran = []
    with on_stop(lambda: ran.append("x")):
        pass
    assert ran == [] and not stop_requested()


def test_signals_of_two_conversations_are_apart():
    first, second, ran = StopSignal(), StopSignal(), []
    with first.current(), on_stop(lambda: ran.append("first")), second.current(), \
            on_stop(lambda: ran.append("second")):
        first.stop()
    assert ran == ["first"] and not second.is_set()


def test_an_action_that_fails_is_logged_and_the_rest_still_run(caplog):
    def broken() -> None:
        raise OSError("worker unreachable")

    signal, ran = StopSignal(), []
    with caplog.at_level(logging.WARNING), signal.current(), on_stop(broken), \
            on_stop(lambda: ran.append("second")):
        signal.stop()
    assert ran == ["second"] and "worker unreachable" in caplog.text
