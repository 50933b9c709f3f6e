// CUDA graphs for compiled functions.
//
// Why: a compiled replay of N small nodes costs N trips through the scheduler, eval_gpu and
// cudaLaunchKernel on the host (several microseconds each), far more than tiny kernels take on
// the GPU. A CUDA graph launches all N kernels with one host call.
//
// How:
// - compile.cpp turns a replay on a GPU stream into one node, CompiledGraph, whose eval_gpu runs
//   the whole tape (make_graph_unit says when it can: every node on one GPU stream, every output
//   computed by a node). The function's inputs and the constants its tape reads are the node's
//   inputs, so the scheduler evaluates (and uploads) them first.
// - The first evaluation of a unit runs the tape kernel by kernel: it warms up what is made
//   lazily (the buffer pool, cuBLASLt plans, NVRTC kernels), none of which may happen while a
//   stream is captured.
// - The second captures the tape on the unit's CUDA stream (thread-local capture mode, so a
//   forbidden call from this thread fails the capture instead of going unnoticed) into a graph
//   and instantiates it once. Buffer addresses change from call to call, so the graph has fixed
//   buffers of its own: input slots that a memcpy node fills from the call's inputs first, and
//   output slots that a copy kernel fills last, read by a memcpy node into the call's fresh
//   output buffers. A replay points those memcpy nodes at the call's buffers
//   (cudaGraphExecMemcpyNodeSetParams1D, a host-side parameter write) and launches the graph:
//   per call the host cost is one allocation per output, one parameter write per input and
//   output, and one cudaGraphLaunch. The updated memcpy nodes only ever touch ordinary pool
//   memory (the slots are pool buffers, not graph allocations), which is what node updates
//   allow. Re-pointing kernel parameters instead would need every kernel's parameter layout,
//   and recapturing plus cudaGraphExecUpdate pays the full launch cost again on the host.
// - Intermediate buffers are allocated and freed inside the capture (cudaMallocAsync from the
//   device pool), so they become graph memory nodes: the driver gives them fixed addresses and
//   reuses memory only where the graph's dependencies allow, so nodes never alias.
// - Hazards: every input and constant is made device-resident before the capture begins (an
//   upload inside it would become a memcpy node that re-reads the pinned staging buffer later).
//   A kernel that synchronizes or reads results on the host, an allocation that outlives the
//   capture, or any other error makes the capture fail: the unit is marked and from then on
//   runs kernel by kernel (counted in graph_stats().fallbacks). Inputs that are not dense
//   row-major (views, broadcasts) and empty arrays also run kernel by kernel.
// Results are those of the kernel-by-kernel run: the same kernels with the same parameters.
// KILN_DISABLE_CUDA_GRAPHS=1 turns units off altogether (compile then replays node by node).
#include "kiln/backend/gpu_graph.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "kiln/backend/cuda/runtime.h"
#include "kiln/backend/gpu.h"
#include "kiln/primitives.h"

namespace kiln::gpu {

namespace {

std::atomic<uint64_t> g_runs{0}, g_captures{0}, g_replays{0}, g_fallbacks{0};

// One tape node: the slots (indices into the values of a run) it reads and writes.
struct Step {
  std::shared_ptr<Primitive> prim;
  std::vector<int> in, out;
  std::vector<Shape> shapes;
  std::vector<Dtype> dtypes;
  std::vector<int> release;  // slots this step reads last (dropped before it runs: donation works)
};

// An evaluated array with a fresh row-major device buffer of its own.
array fixed_buffer(const Shape& shape, Dtype dtype, cudaStream_t cs) {
  array a = array::placeholder(shape, dtype);
  cuda::alloc_device(a, cs);
  a.set_status(array::Status::evaluated);
  return a;
}

void* ptr_of(const array& a) { return cuda::device_out(const_cast<array&>(a)); }

class CompiledGraph : public Primitive {
 public:
  CompiledGraph(Stream s, int n_sources, int n_constants, int n_slots, std::vector<Step> steps, std::vector<int> outs)
      : Primitive(s), n_sources_(n_sources), n_constants_(n_constants), n_slots_(n_slots),
        steps_(std::move(steps)), outs_(std::move(outs)) {}
  ~CompiledGraph() override { reset(); }

  void eval_cpu(const std::vector<array>&, std::vector<array>&) override {
    throw std::runtime_error("[CompiledGraph] runs on GPU streams only.");
  }
  void eval_gpu(const std::vector<array>& inputs, std::vector<array>& outputs) override;
  const char* name() const override { return "CompiledGraph"; }
  // The unit's steps, so export_to_dot shows what it runs (e.g. "CompiledGraph(Compiled(Exp, Add))").
  void print(std::ostream& os) const override {
    os << name() << "(";
    for (size_t i = 0; i < steps_.size(); ++i) {
      if (i) os << ", ";
      steps_[i].prim->print(os);
    }
    os << ")";
  }

 private:
  std::vector<array> run_tape(const std::vector<array>& inputs, const std::vector<array>& sources);
  bool graphable(const std::vector<array>& inputs, const std::vector<array>& outputs) const;
  bool capture(const std::vector<array>& inputs, std::vector<array>& outputs, cudaStream_t cs);
  bool launch(const std::vector<array>& inputs, std::vector<array>& outputs, cudaStream_t cs, bool allocated);
  // KILN_CUDA_GRAPHS_DEBUG=1 prints why a unit stopped using its graph.
  bool fail(const std::string& why) {
    static const bool debug = std::getenv("KILN_CUDA_GRAPHS_DEBUG") != nullptr;
    if (debug) std::fprintf(stderr, "[CompiledGraph] falling back to launches: %s\n", why.c_str());
    reset();
    failed_ = true;
    ++g_fallbacks;
    return false;
  }
  void reset() {
    if (exec_) cudaGraphExecDestroy(exec_);  // an in-flight launch finishes first (CUDA frees it after)
    if (graph_) cudaGraphDestroy(graph_);
    cudaGetLastError();
    exec_ = nullptr;
    graph_ = nullptr;
    in_slots_.clear();
    out_slots_.clear();
    in_nodes_.clear();
    out_nodes_.clear();
    constant_ptrs_.clear();
  }

  int n_sources_, n_constants_, n_slots_;
  std::vector<Step> steps_;
  std::vector<int> outs_;  // slots of the function's outputs

  std::mutex mtx_;  // one capture or launch of this graph at a time
  int calls_ = 0;
  bool failed_ = false;
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
  std::vector<array> in_slots_, out_slots_;         // the graph's fixed buffers
  std::vector<cudaGraphNode_t> in_nodes_, out_nodes_;  // memcpy nodes pointed at each call's buffers
  std::vector<const void*> constant_ptrs_;           // where the captured kernels read the constants
};

// Runs the tape kernel by kernel on the unit's stream (captured or not): `sources` stand for
// the function's inputs, the constants are inputs after them. Returns the function's outputs.
std::vector<array> CompiledGraph::run_tape(const std::vector<array>& inputs, const std::vector<array>& sources) {
  std::vector<array> vals(n_slots_);
  for (int i = 0; i < n_sources_; ++i) vals[i] = sources[i];
  for (int c = 0; c < n_constants_; ++c) vals[n_sources_ + c] = inputs[n_sources_ + c];
  for (auto& st : steps_) {
    std::vector<array> ins;
    ins.reserve(st.in.size());
    for (int k : st.in) ins.push_back(vals[k]);
    for (int k : st.release) vals[k] = array();
    std::vector<array> outs;
    if (st.out.size() == 1) {
      outs.push_back(array(st.shapes[0], st.dtypes[0], st.prim, std::move(ins)));
    } else {
      outs = array::make_arrays(st.shapes, st.dtypes, st.prim, ins);
      ins.clear();
    }
    gpu::eval(outs[0]);  // gpu::eval: the primitive's eval_gpu for all its outputs, errors named
    for (size_t j = 0; j < outs.size(); ++j) {
      outs[j].detach();  // drops the inputs: intermediates are freed after their last reader
      outs[j].set_status(array::Status::evaluated);
      vals[st.out[j]] = std::move(outs[j]);
    }
  }
  std::vector<array> results;
  for (int k : outs_) results.push_back(vals[k]);
  return results;
}

bool CompiledGraph::graphable(const std::vector<array>& inputs, const std::vector<array>& outputs) const {
  for (int i = 0; i < n_sources_; ++i) {
    const array& x = inputs[i];
    if (x.size() == 0 || !x.flags().row_contiguous || x.data_size() != x.size()) return false;
  }
  for (auto& o : outputs) {
    if (o.size() == 0) return false;
  }
  return true;
}

void CompiledGraph::eval_gpu(const std::vector<array>& inputs, std::vector<array>& outputs) {
  cudaStream_t cs = cuda::stream_of(stream());
  if (graphable(inputs, outputs)) {
    std::lock_guard<std::mutex> lk(mtx_);
    if (!failed_ && calls_++ >= 1) {
      if (exec_ ? launch(inputs, outputs, cs, false) : capture(inputs, outputs, cs)) return;
    }
  }
  ++g_runs;
  auto results = run_tape(inputs, std::vector<array>(inputs.begin(), inputs.begin() + n_sources_));
  for (size_t j = 0; j < outputs.size(); ++j) outputs[j].copy_shared_buffer(results[j]);
}

bool CompiledGraph::capture(const std::vector<array>& inputs, std::vector<array>& outputs, cudaStream_t cs) {
  std::vector<const void*> src(n_sources_);
  try {
    // Before the capture: uploads, cross-stream waits and the fixed buffers' allocations.
    for (int i = 0; i < n_sources_; ++i) src[i] = cuda::device_in(inputs[i], cs);
    for (int c = 0; c < n_constants_; ++c) constant_ptrs_.push_back(cuda::device_in(inputs[n_sources_ + c], cs));
    for (int i = 0; i < n_sources_; ++i) in_slots_.push_back(fixed_buffer(inputs[i].shape(), inputs[i].dtype(), cs));
    for (auto& o : outputs) {
      out_slots_.push_back(fixed_buffer(o.shape(), o.dtype(), cs));
      cuda::alloc_device(o, cs);
    }
  } catch (const std::exception& e) {
    return fail(std::string("before capture: ") + e.what());
  }

  int64_t balance = 0;
  std::string why;
  bool ok = true;
  if (cudaError_t err = cudaStreamBeginCapture(cs, cudaStreamCaptureModeThreadLocal); err != cudaSuccess) {
    cudaGetLastError();
    return fail(std::string("cudaStreamBeginCapture: ") + cudaGetErrorName(err));
  }
  cuda::count_allocations(&balance);
  // The node a capture just recorded on `cs` (the stream is one chain: one dependency).
  auto last_node = [&]() -> cudaGraphNode_t {
    cudaStreamCaptureStatus status;
    const cudaGraphNode_t* deps = nullptr;
    size_t n = 0;
    cuda::check(cudaStreamGetCaptureInfo(cs, &status, nullptr, nullptr, &deps, nullptr, &n), "CompiledGraph");
    if (status != cudaStreamCaptureStatusActive || n != 1) throw std::runtime_error("[CompiledGraph] capture");
    return deps[0];
  };
  try {
    for (int i = 0; i < n_sources_; ++i) {
      cuda::check(cudaMemcpyAsync(ptr_of(in_slots_[i]), src[i], inputs[i].nbytes(), cudaMemcpyDeviceToDevice, cs),
                  "CompiledGraph");
      in_nodes_.push_back(last_node());
    }
    auto results = run_tape(inputs, in_slots_);
    // KILN_CUDA_GRAPHS_INJECT_SYNC=1 (tests): what a kernel that waits for the GPU on the host
    // does inside a capture, after the tape's buffers exist, so the fallback path gets exercised.
    static const bool inject = std::getenv("KILN_CUDA_GRAPHS_INJECT_SYNC") != nullptr;
    if (inject) cuda::check(cudaStreamSynchronize(cs), "CompiledGraph injected sync");
    for (size_t j = 0; j < outputs.size(); ++j) {
      cuda::copy_gpu(name(), results[j], out_slots_[j], cs);
      cuda::check(cudaMemcpyAsync(ptr_of(outputs[j]), ptr_of(out_slots_[j]), outputs[j].nbytes(),
                                  cudaMemcpyDeviceToDevice, cs),
                  "CompiledGraph");
      out_nodes_.push_back(last_node());
    }
    // `results` dies here, inside the capture: the intermediates' frees become graph nodes.
  } catch (const std::exception& e) {
    ok = false;
    why = e.what();
  }
  cuda::count_allocations(nullptr);
  cudaError_t end = cudaStreamEndCapture(cs, &graph_);
  cudaGetLastError();
  // An allocation made during the capture that is still alive would point into a graph that
  // owns its memory; no such unit is kept.
  if (!ok) return fail("during capture: " + why);
  if (end != cudaSuccess || graph_ == nullptr) return fail(std::string("cudaStreamEndCapture: ") + cudaGetErrorName(end));
  if (balance != 0) return fail("allocations and frees inside the capture do not balance");
  for (auto node : in_nodes_) {
    cudaGraphNodeType t;
    if (cudaGraphNodeGetType(node, &t) != cudaSuccess || t != cudaGraphNodeTypeMemcpy) return fail("input copy node");
  }
  for (auto node : out_nodes_) {
    cudaGraphNodeType t;
    if (cudaGraphNodeGetType(node, &t) != cudaSuccess || t != cudaGraphNodeTypeMemcpy) return fail("output copy node");
  }
  if (cudaError_t err = cudaGraphInstantiate(&exec_, graph_, 0); err != cudaSuccess) {
    exec_ = nullptr;
    return fail(std::string("cudaGraphInstantiate: ") + cudaGetErrorName(err));
  }
  ++g_captures;
  // The capture recorded work but ran none: this call's results come from the first launch
  // (which also tries the parameter updates every later call relies on).
  return launch(inputs, outputs, cs, true);
}

bool CompiledGraph::launch(const std::vector<array>& inputs, std::vector<array>& outputs, cudaStream_t cs,
                           bool allocated) {
  try {
    for (int c = 0; c < n_constants_; ++c) {
      if (cuda::device_in(inputs[n_sources_ + c], cs) != constant_ptrs_[c]) {
        // A constant moved (its device copy was remade): capture again on the next call.
        reset();
        calls_ = 1;
        return false;
      }
    }
    for (int i = 0; i < n_sources_; ++i) {
      const void* p = cuda::device_in(inputs[i], cs);
      cuda::check(cudaGraphExecMemcpyNodeSetParams1D(exec_, in_nodes_[i], ptr_of(in_slots_[i]), p, inputs[i].nbytes(),
                                                     cudaMemcpyDeviceToDevice),
                  "CompiledGraph");
    }
    for (size_t j = 0; j < outputs.size(); ++j) {
      if (!allocated) cuda::alloc_device(outputs[j], cs);
      cuda::check(cudaGraphExecMemcpyNodeSetParams1D(exec_, out_nodes_[j], ptr_of(outputs[j]), ptr_of(out_slots_[j]),
                                                     outputs[j].nbytes(), cudaMemcpyDeviceToDevice),
                  "CompiledGraph");
    }
    cuda::check(cudaGraphLaunch(exec_, cs), "CompiledGraph");
  } catch (const std::exception& e) {
    return fail(std::string("launch: ") + e.what());
  }
  ++g_replays;
  return true;
}

}  // namespace

bool graphs_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("KILN_DISABLE_CUDA_GRAPHS");
    return !(v && *v && std::strcmp(v, "0") != 0);
  }();
  return on && is_available();
}

GraphUnit make_graph_unit(const std::vector<array>& sources, const std::vector<array>& tape,
                          const std::vector<array>& outputs) {
  GraphUnit u;
  if (!graphs_enabled() || tape.size() < 2) return u;  // one node gains nothing from a graph
  Stream s = tape[0].primitive().stream();
  if (s.device.type != Device::gpu) return u;
  std::unordered_map<std::uintptr_t, int> slot;
  int n = 0;
  for (auto& x : sources) slot.emplace(x.id(), n++);
  std::unordered_set<std::uintptr_t> produced;
  for (auto& node : tape) {
    if (!(node.primitive().stream() == s)) return u;
    for (auto& o : node.outputs()) produced.insert(o.id());
  }
  // Constants: what nodes read that is neither an input nor computed by the tape.
  for (auto& node : tape) {
    for (auto& in : node.inputs()) {
      if (slot.count(in.id()) || produced.count(in.id())) continue;
      if (in.is_placeholder()) return u;
      slot.emplace(in.id(), n++);
      u.constants.push_back(in);
    }
  }
  std::vector<Step> steps;
  std::vector<int> last_read;
  for (auto& node : tape) {
    Step st;
    st.prim = node.primitive_ptr();
    for (auto& in : node.inputs()) {
      auto it = slot.find(in.id());
      if (it == slot.end()) return u;  // read before it is computed: not a tape this runner knows
      st.in.push_back(it->second);
    }
    for (auto& o : node.outputs()) {
      st.out.push_back(n);
      slot.emplace(o.id(), n++);
      st.shapes.push_back(o.shape());
      st.dtypes.push_back(o.dtype());
    }
    steps.push_back(std::move(st));
  }
  std::vector<int> outs;
  for (auto& o : outputs) {
    if (!produced.count(o.id())) return u;  // an input or a constant passed through
    outs.push_back(slot.at(o.id()));
    u.shapes.push_back(o.shape());
    u.dtypes.push_back(o.dtype());
  }
  // Each slot is dropped by its last reader; outputs are kept to the end, and outputs of a node
  // that nothing reads right after it.
  std::vector<int> last(n, -1);
  for (size_t k = 0; k < steps.size(); ++k) {
    for (int i : steps[k].in) last[i] = static_cast<int>(k);
    for (int o : steps[k].out) last[o] = std::max(last[o], static_cast<int>(k));
  }
  std::unordered_set<int> kept(outs.begin(), outs.end());
  for (int i = 0; i < n; ++i) {
    if (last[i] >= 0 && !kept.count(i)) steps[last[i]].release.push_back(i);
  }
  // A release in the producing step itself (an unread output) happens before it runs; move it
  // to after by keeping it in the slot until the next step (harmless: it is freed one step late).
  for (size_t k = 0; k < steps.size(); ++k) {
    auto& r = steps[k].release;
    std::vector<int> keep_now, later;
    for (int i : r) {
      bool own = std::find(steps[k].out.begin(), steps[k].out.end(), i) != steps[k].out.end();
      (own ? later : keep_now).push_back(i);
    }
    r = keep_now;
    if (!later.empty() && k + 1 < steps.size()) {
      steps[k + 1].release.insert(steps[k + 1].release.end(), later.begin(), later.end());
    }
  }
  u.primitive = std::make_shared<CompiledGraph>(s, static_cast<int>(sources.size()),
                                                static_cast<int>(u.constants.size()), n, std::move(steps),
                                                std::move(outs));
  return u;
}

GraphStats graph_stats() { return {g_runs.load(), g_captures.load(), g_replays.load(), g_fallbacks.load()}; }

}  // namespace kiln::gpu
