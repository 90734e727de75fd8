"""Chat before evaluation: an evaluation question waits while a chat answer is written."""

from __future__ import annotations

import threading
import time

from ui.priority import ChatFirst


def test_evaluation_waits_for_chats_and_stops_waiting_when_cancelled():
    gate = ChatFirst()
    cancelled = threading.Event()
    waited: list[float] = []

    def evaluation_step() -> None:
        start = time.monotonic()
        gate.wait_for_chats(cancelled, poll_s=0.05)
        waited.append(time.monotonic() - start)

    with gate.chatting():
        step = threading.Thread(target=evaluation_step)
        step.start()
        time.sleep(0.3)
        assert step.is_alive()  # held back while the chat answer is written
    step.join(timeout=5)
    assert not step.is_alive() and waited[0] >= 0.3

    gate.wait_for_chats(cancelled)  # no chat: no wait

    with gate.chatting():
        step = threading.Thread(target=evaluation_step)
        step.start()
        cancelled.set()  # Cancel pressed while a chat goes on
        step.join(timeout=5)
        assert not step.is_alive()
