# The CPU map of bench/cpu.py on Elixir's Task.async_stream; run by bench/cpu.py:
#
#   elixir bench/elixir_cpu.exs --items 64 --n 200000 --rounds 5
#
# The item is the same sum as the Python one, sum(i * i for i in range(n)). Prints one
# tab-separated line per measurement, which bench/cpu.py parses:
#   TIME <case> <round> <microseconds>
# Cases: "sequential" (Enum.map in one process) and "stream" (Task.async_stream with
# max_concurrency: 2, ordered). The BEAM runs one scheduler per core.

defmodule CpuBench do
  def burn(n), do: Enum.reduce(0..(n - 1), 0, fn i, acc -> acc + i * i end)

  def sequential(items), do: Enum.map(items, &burn/1)

  def stream(items) do
    items
    |> Task.async_stream(&burn/1, max_concurrency: 2, ordered: true, timeout: :infinity)
    |> Enum.map(fn {:ok, v} -> v end)
  end

  def time_us(fun, expected) do
    :erlang.garbage_collect()
    {us, result} = :timer.tc(fun)
    if result != expected, do: raise("wrong results")
    us
  end

  def run(items, rounds) do
    expected = sequential(items)
    cases = [{"sequential", &sequential/1}, {"stream", &stream/1}]
    # warm-up: each case once (loads modules, starts the schedulers' work)
    Enum.each(cases, fn {_, f} -> time_us(fn -> f.(items) end, expected) end)

    for round <- 1..rounds, {name, f} <- cases do
      us = time_us(fn -> f.(items) end, expected)
      IO.puts(Enum.join(["TIME", name, round, us], "\t"))
    end
  end
end

{opts, _, _} =
  OptionParser.parse(System.argv(), strict: [items: :integer, n: :integer, rounds: :integer])

items = List.duplicate(Keyword.get(opts, :n, 200_000), Keyword.get(opts, :items, 64))
CpuBench.run(items, Keyword.get(opts, :rounds, 5))
