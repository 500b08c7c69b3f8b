# Elixir's Task and Task.Supervisor, measured the same way as the Python systems; run by
# bench/run.py:
#
#   elixir bench/elixir_bench.exs time   --n 10000,100000 --rounds 5 [--only start,start_child]
#   elixir bench/elixir_bench.exs memory --n 10000
#
# Prints one tab-separated line per measurement, which the harness parses:
#   TIME <workload> <variant> <n> <round> <microseconds>
#   MEMORY <n> <bytes_per_process>
#
# Bodies: "ret" is fn x -> x end; "sleep0" calls :erlang.yield() first, the BEAM's
# equivalent of one asyncio.sleep(0) (give the scheduler a chance to run someone else).
# Note: the BEAM runs one scheduler per core (2 here), so Elixir may use both cores while
# every Python system runs on one thread.

defmodule Bench do
  def work("ret"), do: fn x -> x end

  def work("sleep0") do
    fn x ->
      :erlang.yield()
      x
    end
  end

  # spawn + await: Task.async for each, then Task.await_many (no timeout, as timeout=None)
  def spawn_await(n, variant) do
    work = work(variant)
    tasks = Enum.map(0..(n - 1), fn i -> Task.async(fn -> work.(i) end) end)
    res = Task.await_many(tasks, :infinity)
    check(res, n)
  end

  # Task.async_stream, max_concurrency 100, ordered; timeout 5000 (the default) or :infinity
  def stream(n, variant, timeout) do
    work = work(variant)

    res =
      0..(n - 1)
      |> Task.async_stream(work, max_concurrency: 100, ordered: true, timeout: timeout)
      |> Enum.map(fn {:ok, v} -> v end)

    check(res, n)
  end

  # fire and forget: Task.start; the last body to run tells the caller (an atomic countdown)
  def start(n, variant) do
    work = work(variant)
    left = :atomics.new(1, [])
    :atomics.put(left, 1, n)
    parent = self()

    Enum.each(0..(n - 1), fn i ->
      Task.start(fn ->
        work.(i)
        if :atomics.sub_get(left, 1, 1) == 0, do: send(parent, :all_done)
      end)
    end)

    receive do
      :all_done -> :ok
    end
  end

  # supervised fire and forget: Task.Supervisor.start_child (restart: :temporary, the
  # default) under one supervisor; the last body tells the caller (an atomic countdown), then
  # the caller asks the supervisor for its children until it has none (the supervisor has
  # handled every child's exit), as the Python side polls TaskSupervisor.children().
  def start_child(n, variant, sup) do
    work = work(variant)
    left = :atomics.new(1, [])
    :atomics.put(left, 1, n)
    parent = self()

    Enum.each(0..(n - 1), fn i ->
      {:ok, _pid} =
        Task.Supervisor.start_child(sup, fn ->
          work.(i)
          if :atomics.sub_get(left, 1, 1) == 0, do: send(parent, :all_done)
        end)
    end)

    receive do
      :all_done -> :ok
    end

    until_no_children(sup)
  end

  defp until_no_children(sup) do
    case Task.Supervisor.children(sup) do
      [] -> :ok
      _ -> until_no_children(sup)
    end
  end

  defp check(res, n) do
    if res != Enum.to_list(0..(n - 1)), do: raise("wrong results")
    :ok
  end

  def time_us(fun) do
    :erlang.garbage_collect()
    {us, :ok} = :timer.tc(fun)
    us
  end

  def cases(sup) do
    for variant <- ["ret", "sleep0"] do
      [
        {"spawn", variant, fn n -> spawn_await(n, variant) end},
        {"stream_t5", variant, fn n -> stream(n, variant, 5000) end},
        {"stream_inf", variant, fn n -> stream(n, variant, :infinity) end},
        {"start", variant, fn n -> start(n, variant) end},
        {"start_child", variant, fn n -> start_child(n, variant, sup) end}
      ]
    end
    |> List.flatten()
  end

  # only the workloads named in `only` (nil: all)
  def cases(sup, nil), do: cases(sup)
  def cases(sup, only), do: Enum.filter(cases(sup), fn {w, _, _} -> w in only end)

  def run_time(ns, rounds, only) do
    # one task supervisor for every start_child measurement, started outside the clock
    {:ok, sup} = Task.Supervisor.start_link()
    # warm-up: every case once at a small N (loads modules, grows the schedulers' pools)
    Enum.each(cases(sup, only), fn {_, _, f} -> time_us(fn -> f.(2000) end) end)

    for n <- ns, round <- 1..rounds do
      cs = cases(sup, only)
      # rotate the order each round, as the Python harness does
      k = rem(round - 1, length(cs))
      {a, b} = Enum.split(cs, k)

      Enum.each(b ++ a, fn {workload, variant, f} ->
        us = time_us(fn -> f.(n) end)
        IO.puts(Enum.join(["TIME", workload, variant, n, round, us], "\t"))
      end)
    end
  end

  # memory per idle process: N Task.start processes, each blocked in receive
  def run_memory(n) do
    idle(200)  # warm-up
    :erlang.garbage_collect()
    before = :erlang.memory(:processes)
    pids = idle(n)
    wait_all_blocked(pids)
    :erlang.garbage_collect()
    after_ = :erlang.memory(:processes)
    Enum.each(pids, fn pid -> send(pid, :go) end)
    IO.puts(Enum.join(["MEMORY", n, (after_ - before) / n], "\t"))
  end

  defp idle(n) do
    for _ <- 1..n do
      {:ok, pid} =
        Task.start(fn ->
          receive do
            :go -> :ok
          end
        end)

      pid
    end
  end

  defp wait_all_blocked(pids) do
    Enum.each(pids, fn pid ->
      Stream.repeatedly(fn -> Process.info(pid, :status) end)
      |> Enum.find(fn
        {:status, :waiting} -> true
        _ -> Process.sleep(1) && false
      end)
    end)
  end
end

{opts, [mode], _} =
  OptionParser.parse(System.argv(), strict: [n: :string, rounds: :integer, only: :string])

ns = opts |> Keyword.get(:n, "10000") |> String.split(",") |> Enum.map(&String.to_integer/1)
only = if opts[:only], do: String.split(opts[:only], ",", trim: true), else: nil

case mode do
  "time" -> Bench.run_time(ns, Keyword.get(opts, :rounds, 5), only)
  "memory" -> Enum.each(ns, &Bench.run_memory/1)
end
