"""Where an exit came from, and cancels that taskvisor did not cause.

A linked crash that interrupts the owner inside an unrelated call names the process the
signal came from (`TaskExit.sender`, "** (EXIT from <pid>)"), not the call it interrupted;
a call made after the process's fate is sealed says that the process is exiting, why and
from whom. Only taskvisor's own cancels become `TaskExit`: an outside cancel that lands in the
same step as an exit signal passes through, and a cancel taskvisor gives back is never
delivered later as a stray `CancelledError` (3.11 and 3.12 cannot take back a cancel of a
running task, so it must not be sent during the step).
"""

from __future__ import annotations

import asyncio
import pickle
import sys
import threading
from typing import Any

import pytest

from support import crash, forever, reply
from taskvisor import Exit, Pid, Process, Task, TaskExit, TaskSupervisor
from taskvisor.testing import asyncio_task_of


async def boom() -> None:
    raise KeyError("boom")


class TestSender:
    async def test_a_linked_crash_inside_an_unrelated_await_names_its_sender(self) -> None:
        healthy = Task.async_(forever)
        crashing = Task.async_(boom)
        with pytest.raises(TaskExit) as info:
            await Task.await_(healthy, None)
        exc = info.value
        assert isinstance(exc.reason, KeyError)
        assert exc.sender == crashing.pid
        assert exc.exiting is None
        text = str(exc)
        assert text.startswith(f"** (EXIT from {crashing.pid!r}) an exception was raised: KeyError")
        assert "exited in" not in text  # it does not send the reader to the healthy task
        assert "(the signal interrupted Task.await_(" in text

    async def test_the_awaited_tasks_own_exit_has_no_sender(self) -> None:
        Process.flag("trap_exit", True)
        task = Task.async_(boom)
        with pytest.raises(TaskExit) as info:
            await Task.await_(task)
        assert info.value.sender is None
        assert str(info.value).startswith("exited in: Task.await_(")
        assert await Process.receive_exit(1.0) == (task.pid, info.value.reason)

    async def test_process_exit_names_the_process_that_sent_it(self) -> None:
        seen: list[TaskExit] = []
        started = asyncio.Event()

        async def victim() -> None:
            started.set()
            try:
                await Task.await_(Task.async_(forever), None)
            except TaskExit as exc:
                seen.append(exc)
                raise

        async def sender(pid: Pid) -> Pid:
            Process.exit(pid, "go away")
            return Process.self()

        target = sup_task = None
        async with TaskSupervisor() as sup:
            target = sup.async_nolink(victim)
            await started.wait()
            sup_task = Task.async_(sender, target.pid)
            sender_pid = await Task.await_(sup_task)
            assert await Task.yield_(target, 5.0) == Exit("go away")
        assert seen[0].sender == sender_pid
        assert str(seen[0]).startswith(f"** (EXIT from {sender_pid!r}) go away")

    def test_a_task_exit_with_a_sender_survives_pickling(self) -> None:
        async def main() -> TaskExit:
            return TaskExit(
                "x", ("Task.await_", (1,)), sender=Process.self(), detail="more", exiting=None
            )

        exc = asyncio.run(main())
        back = pickle.loads(pickle.dumps(exc))
        assert (back.reason, back.call, back.sender, back.detail) == (
            "x",
            ("Task.await_", (1,)),
            exc.sender,
            "more",
        )
        assert str(back) == str(exc)


class TestCallsOfAnExitingProcess:
    async def test_a_retry_after_a_linked_crash_says_the_process_is_exiting_and_why(self) -> None:
        errors: list[TaskExit] = []

        async def worker() -> None:
            for _ in range(3):  # a naive retry loop
                try:
                    await Task.await_(Task.async_(boom))
                except TaskExit as exc:
                    errors.append(exc)

        Process.flag("trap_exit", True)
        task = Task.async_(worker)
        result = await Task.yield_(task, 5.0)
        assert isinstance(result, Exit) and isinstance(result.reason, KeyError)
        first, *retries = errors
        assert first.exiting is None and first.sender is not None
        assert len(retries) == 2
        for again in retries:
            assert again.exiting == task.pid
            assert again.sender == first.sender
            text = str(again)
            assert text.startswith(f"{task.pid!r} is exiting: ** (EXIT from {first.sender!r})")
            assert "Task.async_(" in text and "was refused" in text

    async def test_exiting_from_its_own_signal_says_so(self) -> None:
        Process.flag("trap_exit", True)
        errors: list[TaskExit] = []

        async def worker() -> None:
            Process.exit(Process.self(), "done for")
            try:
                Task.async_(reply, 1)
            except TaskExit as exc:
                errors.append(exc)
                raise

        task = Task.async_(worker)
        assert await Task.yield_(task, 5.0) == Exit("done for")
        assert errors[0].exiting == task.pid == errors[0].sender
        assert str(errors[0]).startswith(f"{task.pid!r} is exiting: ** (EXIT from {task.pid!r})")


class TestOwnCancelsOnly:
    @pytest.mark.parametrize(
        ("also_cancelled", "raised"),
        [(True, asyncio.CancelledError), (False, TaskExit)],
        ids=["with-an-outside-cancel", "ours-alone"],
    )
    async def test_only_our_cancel_alone_becomes_task_exit(
        self, also_cancelled: bool, raised: type[BaseException]
    ) -> None:
        """An exit signal and someone else's cancel in the same step: the CancelledError
        passes through; the signal alone: TaskExit. The sealed reason stands either way."""
        Process.flag("trap_exit", True)
        seen: list[type[BaseException]] = []
        ready = asyncio.Event()
        holder: list[asyncio.Task[Any]] = []

        async def victim() -> None:
            holder.append(asyncio.current_task())  # type: ignore[arg-type]
            ready.set()
            try:
                await Task.await_(Task.async_(forever), None)
            except BaseException as exc:
                seen.append(type(exc))
                raise

        task = Task.async_(victim)
        await ready.wait()
        assert task.pid is not None
        Process.exit(task.pid, "boom")  # taskvisor's cancel ...
        if also_cancelled:
            holder[0].cancel()  # ... and someone else's, in the same step
        assert await Task.yield_(task, 5.0) == Exit("boom")
        assert seen == [raised]

    async def test_exit_of_self_then_a_call_leaves_no_stray_cancel_in_cleanup(self) -> None:
        Process.flag("trap_exit", True)
        cleanup: list[str] = []

        async def worker() -> None:
            Process.exit(Process.self(), "boom")
            try:
                Task.async_(reply, 1)
            except TaskExit:
                await asyncio.sleep(0)  # cleanup that awaits: no stray CancelledError
                await asyncio.sleep(0)
                cleanup.append("done")
                raise

        task = Task.async_(worker)
        assert await Task.yield_(task, 5.0) == Exit("boom")
        assert cleanup == ["done"]

    async def test_exit_of_self_still_interrupts_the_next_await(self) -> None:
        Process.flag("trap_exit", True)

        async def worker() -> None:
            Process.exit(Process.self(), "boom")
            await forever()  # interrupted here: the cancel is sent just after this step

        task = Task.async_(worker)
        assert await Task.yield_(task, 5.0) == Exit("boom")

    @pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio.eager_task_factory is 3.12+")
    async def test_a_linked_crash_under_an_eager_factory_leaves_no_stray_cancel(self) -> None:
        asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)  # type: ignore[attr-defined]
        Process.flag("trap_exit", True)
        cleanup: list[str] = []

        async def worker() -> None:
            Task.async_(crash, "eager")  # crashes inside this call: we are doomed in our step
            try:
                Task.async_(reply, 1)
            except TaskExit:
                await asyncio.sleep(0)
                cleanup.append("done")
                raise

        task = Task.async_(worker)
        result = await Task.yield_(task, 5.0)
        assert isinstance(result, Exit) and isinstance(result.reason, RuntimeError)
        assert cleanup == ["done"]

    async def test_an_outside_cancel_with_an_exit_signal_kills_a_thread_call(self) -> None:
        """A polite stop (the exit signal) would wait for the thread; the outside cancel that
        came with it must not be swallowed: the call is killed and the cancel goes on."""
        Process.flag("trap_exit", True)
        entered, release = threading.Event(), threading.Event()

        def blocking() -> str:
            entered.set()
            release.wait()
            return "late"

        task = Task.async_(blocking, executor="thread")
        await asyncio.to_thread(entered.wait)
        assert task.pid is not None
        aio = asyncio_task_of(task.pid)
        assert aio is not None
        try:
            Process.exit(task.pid, "boom")
            aio.cancel()  # someone else's cancel, in the same step
            assert await Task.yield_(task, 5.0) == Exit("boom")
        finally:
            release.set()
