#include "kiln/transforms.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <unordered_set>

#include "kiln/backend/gpu.h"
#include "kiln/primitives.h"
#include "kiln/scheduler.h"

namespace kiln {

namespace {

// Arrays scheduled by one thread (or stream) may be needed by another; the consumer waits here
// until the owner marks them evaluated. Waiting only ever goes from a node to a predecessor
// in the graph, and every owner runs its nodes in topological order, so it cannot deadlock.
std::mutex g_eval_mtx;
std::condition_variable g_eval_cv;
std::atomic<int> g_waiters{0};

void notify_status_change() {
  if (g_waiters.load() > 0) {
    std::lock_guard<std::mutex> lk(g_eval_mtx);
    g_eval_cv.notify_all();
  }
}

void wait_until_evaluated(const array& a) {
  if (a.status() == array::Status::evaluated) return;
  g_waiters.fetch_add(1);
  {
    std::unique_lock<std::mutex> lk(g_eval_mtx);
    g_eval_cv.wait(lk, [&] { return a.status() != array::Status::scheduled; });
  }
  g_waiters.fetch_sub(1);
  if (a.status() != array::Status::evaluated) {
    throw std::runtime_error("[eval] An input failed to evaluate on another stream or thread.");
  }
}

// After a failure, unclaims the nodes that did not run so a later eval can retry (and
// raise the same error) instead of waiting forever.
// Returns a claimed node that did not run to unscheduled (a later eval runs it again and
// raises its error there).
void unclaim_node(const array& a) {
  for (auto& o : a.outputs()) {
    if (o.status() == array::Status::scheduled) o.set_status(array::Status::unscheduled);
  }
}

void unclaim(std::vector<array>& tape, size_t from) {
  for (size_t j = from; j < tape.size(); ++j) {
    if (tape[j].valid()) unclaim_node(tape[j]);
  }
  notify_status_change();
}

// Orders the unevaluated part of the graph below `outputs` so that every node comes after its
// inputs. Claims each node (unscheduled -> scheduled) so no other thread also runs it.
std::vector<array> build_tape(const std::vector<array>& outputs) {
  std::vector<array> tape;
  std::vector<std::pair<array, size_t>> stack;
  auto try_push = [&](const array& a) {
    if (a.status() != array::Status::unscheduled) return;
    if (!a.has_primitive()) {
      if (a.is_placeholder()) {
        throw std::invalid_argument(
            "[eval] Cannot evaluate an array that depends on a placeholder input while vmap or compile traces a "
            "function (no data exists yet).");
      }
      return;
    }
    if (!a.try_claim()) return;  // another thread got there first
    stack.emplace_back(a, 0);
  };
  try {
    // One output at a time: a claimed node must be on the tape before another output that
    // reads it is walked (eval(x, x + 1) would otherwise put x + 1 first and wait forever).
    for (auto& o : outputs) {
      try_push(o);
      while (!stack.empty()) {
        auto& [a, i] = stack.back();
        const auto& inputs = a.inputs();
        if (i < inputs.size()) {
          const array& in = inputs[i++];
          try_push(in);  // may reallocate stack: `a` and `i` are not used after this
        } else {
          tape.push_back(std::move(a));
          stack.pop_back();
        }
      }
    }
  } catch (...) {
    for (auto& entry : stack) tape.push_back(entry.first);
    unclaim(tape, 0);
    throw;
  }
  return tape;
}

// Runs one node: its primitive on its stream's backend, then detaches the outputs so the
// inputs are released as soon as nothing else refers to them.
void run_node(array& a) {
  for (auto& in : a.inputs()) wait_until_evaluated(in);
  std::vector<array> outputs = a.outputs();
  auto& p = a.primitive();
  if (p.stream().device.type == Device::cpu) {
    p.eval_cpu(a.inputs(), outputs);
  } else {
    gpu::eval(a, outputs);
  }
  for (auto& o : outputs) {
    if (!o.is_tracer()) o.detach();  // a transformation in progress still walks tracer graphs
    o.set_status(array::Status::evaluated);
  }
  notify_status_change();
}

// Whether `a` is one unevaluated node whose inputs are all evaluated (`mx.eval(x + 1)`).
bool is_single_ready_node(const array& a) {
  if (a.status() != array::Status::unscheduled || !a.has_primitive()) return false;
  for (const auto& in : a.inputs()) {
    if (in.status() != array::Status::evaluated) return false;
  }
  return true;
}

}  // namespace

void eval(std::vector<array> outputs) {
  // One op over evaluated inputs needs no tape: claim it and run it (no graph walk, no
  // vectors; this is most of a tiny op's eval on the GPU, where the launch is the rest).
  if (outputs.size() == 1 && is_single_ready_node(outputs[0]) && outputs[0].try_claim()) {
    array& a = outputs[0];
    try {
      run_node(a);
    } catch (...) {
      unclaim_node(a);
      notify_status_change();
      throw;
    }
    return;
  }
  auto tape = build_tape(outputs);
  for (size_t i = 0; i < tape.size(); ++i) {
    try {
      run_node(tape[i]);
    } catch (...) {
      unclaim(tape, i);
      throw;
    }
    tape[i] = array();  // release our reference: consumers hold what they still need
  }
  for (auto& o : outputs) wait_until_evaluated(o);
}

void async_eval(std::vector<array> outputs) {
  auto tape = build_tape(outputs);
  for (auto& a : tape) {
    Stream s = a.primitive().stream();
    if (s.device.type == Device::gpu) {
      // GPU kernels are asynchronous already; launching them here keeps CUDA-stream order.
      // A failure leaves the node unevaluated, as on CPU streams: a later eval() raises it.
      try {
        run_node(a);
      } catch (...) {
        unclaim_node(a);
        notify_status_change();
      }
      continue;
    }
    scheduler::enqueue(s, [a = std::move(a)]() mutable {
      try {
        run_node(a);
      } catch (...) {
        // Leave it unevaluated: a later eval() of it runs it again and raises the error there.
        unclaim_node(a);
        notify_status_change();
      }
    });
  }
}

}  // namespace kiln
