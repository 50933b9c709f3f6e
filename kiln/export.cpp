#include "kiln/export.h"

#include <cstring>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "kiln/compile.h"
#include "kiln/ops.h"
#include "kiln/ops_utils.h"
#include "kiln/serialize.h"
#include "kiln/trace.h"

namespace kiln {

using detail::str;

// ---------------------------------------------------------------- primitive factories

namespace detail {

namespace {
std::unordered_map<std::string, PrimitiveFactory>& factories() {
  static std::unordered_map<std::string, PrimitiveFactory> f;
  return f;
}
std::mutex& factories_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

bool register_primitive(const char* name, PrimitiveFactory factory) {
  std::lock_guard<std::mutex> lk(factories_mutex());
  factories()[name] = std::move(factory);
  return true;
}

const PrimitiveFactory* primitive_factory(const std::string& name) {
  std::lock_guard<std::mutex> lk(factories_mutex());
  auto it = factories().find(name);
  return it != factories().end() ? &it->second : nullptr;
}

}  // namespace detail

Dtype dtype_from_code(int32_t code) {
  static const Dtype all[] = {bool_, uint8, uint16, uint32, uint64, int8, int16, int32, int64,
                              float16, bfloat16, float32, float64, complex64};
  for (auto& d : all) {
    if (static_cast<int32_t>(d.val) == code) return d;
  }
  throw std::invalid_argument(str("[import_function] Malformed file: unknown dtype code ", code, "."));
}

void Primitive::write_state(StateWriter&) const {
  throw std::invalid_argument(str("[export_function] The primitive ", name(), " cannot be exported."));
}

namespace {

constexpr char kMagic[6] = {'K', 'I', 'L', 'N', 'F', 'N'};
constexpr uint32_t kVersion = 1;

// Turns compile off while tracing for export, so compiled functions are recorded as their
// primitives rather than as fused nodes.
struct CompileOff {
  bool was = compile_enabled();
  CompileOff() { disable_compile(); }
  ~CompileOff() {
    if (was) enable_compile();
  }
};

void write_array_meta(StateWriter& w, const array& a) {
  w.write(static_cast<int32_t>(a.dtype().val));
  w.write(a.shape());
}

std::vector<char> trace_to_bytes(const ArrayFn& fun, const std::vector<array>& xs, bool shapeless) {
  std::vector<array> inputs;
  for (auto& x : xs) {
    array p = array::placeholder(x.shape(), x.dtype());
    p.set_tracer(true);
    inputs.push_back(std::move(p));
  }
  std::vector<array> outputs;
  {
    CompileOff off;
    detail::TraceScope scope;
    outputs = fun(inputs);
  }
  auto tape = detail::trace_between(inputs, outputs, /*cut_at_stop=*/false).tape;
  detail::add_constant_broadcasts(tape, inputs);

  std::unordered_map<std::uintptr_t, uint32_t> ids;
  uint32_t next = 0;
  for (auto& p : inputs) ids[p.id()] = next++;
  // Constants: what the nodes (and outputs) read that neither an input nor a node produces.
  std::vector<array> constants;
  std::unordered_map<std::uintptr_t, bool> produced;
  for (auto& n : tape) {
    for (auto& o : n.outputs()) produced[o.id()] = true;
  }
  auto note_constant = [&](const array& a) {
    if (ids.count(a.id()) || produced.count(a.id())) return;
    ids[a.id()] = 0;  // placeholder id, fixed below
    constants.push_back(a);
  };
  for (auto& n : tape) {
    for (auto& in : n.inputs()) note_constant(in);
  }
  for (auto& o : outputs) note_constant(o);
  for (auto& c : constants) ids[c.id()] = next++;

  StateWriter w;
  w.write(static_cast<uint8_t>(shapeless));
  w.write(static_cast<uint32_t>(inputs.size()));
  for (auto& p : inputs) write_array_meta(w, p);
  w.write(static_cast<uint32_t>(constants.size()));
  std::vector<array> dense;
  for (auto& c : constants) dense.push_back(copy(c));
  eval(dense);
  for (size_t i = 0; i < constants.size(); ++i) {
    write_array_meta(w, constants[i]);
    const char* p = dense[i].data<char>();
    w.write(std::vector<char>(p, p + dense[i].nbytes()));
  }
  w.write(static_cast<uint32_t>(tape.size()));
  for (auto& n : tape) {
    auto& prim = n.primitive();
    StateWriter state;
    prim.write_state(state);
    w.write(std::string(prim.class_name()));
    w.write(state.bytes());
    std::vector<uint32_t> in_ids;
    for (auto& in : n.inputs()) in_ids.push_back(ids.at(in.id()));
    w.write(in_ids);
    auto outs = n.outputs();
    w.write(static_cast<uint32_t>(outs.size()));
    for (auto& o : outs) {
      write_array_meta(w, o);
      ids[o.id()] = next++;
    }
  }
  std::vector<uint32_t> out_ids;
  for (auto& o : outputs) out_ids.push_back(ids.at(o.id()));
  w.write(out_ids);
  return w.bytes();
}

}  // namespace

// ---------------------------------------------------------------- export

FunctionExporter::FunctionExporter(std::ostream& os, ArrayFn fun, bool shapeless, std::string metadata,
                                   int num_positional, std::vector<std::string> keywords)
    : os_(os), fun_(std::move(fun)), shapeless_(shapeless), metadata_(std::move(metadata)),
      num_positional_(num_positional), keywords_(std::move(keywords)) {}

FunctionExporter::~FunctionExporter() {
  try {
    close();
  } catch (...) {
  }
}

void FunctionExporter::add_trace(const std::vector<array>& example_inputs) {
  if (closed_) throw std::invalid_argument("[export_function] The exporter is closed.");
  traces_.push_back(trace_to_bytes(fun_, example_inputs, shapeless_));
}

void FunctionExporter::close() {
  if (closed_) return;
  closed_ = true;
  StateWriter w;
  w.write(kVersion);
  w.write(metadata_);
  w.write(static_cast<int32_t>(num_positional_));
  w.write(keywords_);
  w.write(traces_);
  os_.write(kMagic, sizeof(kMagic));
  os_.write(w.bytes().data(), static_cast<std::streamsize>(w.bytes().size()));
  os_.flush();
  if (!os_) throw std::runtime_error("[export_function] Writing the file failed.");
}

void export_function(std::ostream& os, const ArrayFn& fun, const std::vector<array>& example_inputs, bool shapeless,
                     const std::string& metadata) {
  FunctionExporter e(os, fun, shapeless, metadata, static_cast<int>(example_inputs.size()), {});
  e.add_trace(example_inputs);
  e.close();
}

// ---------------------------------------------------------------- import

struct ImportedFunction::Trace {
  struct Node {
    std::shared_ptr<Primitive> primitive;
    std::vector<uint32_t> inputs;
    std::vector<Shape> shapes;
    std::vector<Dtype> dtypes;
  };
  bool shapeless = false;
  std::vector<Shape> in_shapes;
  std::vector<Dtype> in_dtypes;
  std::vector<array> constants;
  std::vector<Node> nodes;
  std::vector<uint32_t> outputs;

  bool matches(const std::vector<array>& xs) const {
    if (xs.size() != in_shapes.size()) return false;
    for (size_t i = 0; i < xs.size(); ++i) {
      if (xs[i].dtype() != in_dtypes[i]) return false;
      if (shapeless ? xs[i].ndim() != static_cast<int>(in_shapes[i].size()) : xs[i].shape() != in_shapes[i]) return false;
    }
    return true;
  }
};

namespace {

std::shared_ptr<ImportedFunction::Trace> read_trace(const std::vector<char>& bytes) {
  auto t = std::make_shared<ImportedFunction::Trace>();
  StateReader r(bytes.data(), bytes.size());
  auto bad = [](const std::string& what) { return std::invalid_argument("[import_function] Malformed file: " + what); };
  t->shapeless = r.read<uint8_t>() != 0;
  uint32_t n_in = r.read<uint32_t>();
  for (uint32_t i = 0; i < n_in; ++i) {
    t->in_dtypes.push_back(dtype_from_code(r.read<int32_t>()));
    t->in_shapes.push_back(r.read<Shape>());
  }
  uint32_t n_const = r.read<uint32_t>();
  for (uint32_t i = 0; i < n_const; ++i) {
    Dtype dt = dtype_from_code(r.read<int32_t>());
    Shape sh = r.read<Shape>();
    auto data = r.read<std::vector<char>>();
    if (static_cast<int64_t>(data.size()) != shape_size(sh) * static_cast<int64_t>(size_of(dt))) {
      throw bad("a constant's data does not match its shape.");
    }
    allocator::Buffer buf = allocator::malloc(data.size());
    std::memcpy(buf.ptr, data.data(), data.size());
    t->constants.push_back(array(buf, sh, dt));
  }
  uint32_t values = n_in + n_const;
  uint32_t n_nodes = r.read<uint32_t>();
  Stream s = default_stream(default_device());
  for (uint32_t i = 0; i < n_nodes; ++i) {
    ImportedFunction::Trace::Node node;
    auto name = r.read<std::string>();
    auto state = r.read<std::vector<char>>();
    const auto* factory = detail::primitive_factory(name);
    if (!factory) throw bad("unknown primitive '" + name + "'.");
    StateReader sr(state.data(), state.size());
    node.primitive = (*factory)(s, sr);
    if (!sr.done()) throw bad("extra parameter bytes for " + name + ".");
    node.inputs = r.read<std::vector<uint32_t>>();
    for (auto id : node.inputs) {
      if (id >= values) throw bad("a node reads a value that is not defined before it.");
    }
    uint32_t n_out = r.read<uint32_t>();
    if (n_out == 0) throw bad("a node without outputs.");
    for (uint32_t j = 0; j < n_out; ++j) {
      node.dtypes.push_back(dtype_from_code(r.read<int32_t>()));
      node.shapes.push_back(r.read<Shape>());
      shape_size(node.shapes.back());  // validates
    }
    values += n_out;
    t->nodes.push_back(std::move(node));
  }
  t->outputs = r.read<std::vector<uint32_t>>();
  for (auto id : t->outputs) {
    if (id >= values) throw bad("an output refers to an undefined value.");
  }
  if (!r.done()) throw bad("trailing bytes in a trace.");
  return t;
}

}  // namespace

ImportedFunction import_function(std::istream& is) {
  std::vector<char> bytes((std::istreambuf_iterator<char>(is)), std::istreambuf_iterator<char>());
  if (bytes.size() < sizeof(kMagic) || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    throw std::invalid_argument("[import_function] Not a kiln function file (bad magic).");
  }
  StateReader r(bytes.data() + sizeof(kMagic), bytes.size() - sizeof(kMagic));
  auto version = r.read<uint32_t>();
  if (version != kVersion) {
    throw std::invalid_argument(str("[import_function] Unsupported file version ", version, " (this kiln reads ",
                                    kVersion, ")."));
  }
  ImportedFunction f;
  f.metadata_ = r.read<std::string>();
  f.num_positional_ = r.read<int32_t>();
  f.keywords_ = r.read<std::vector<std::string>>();
  for (auto& blob : r.read<std::vector<std::vector<char>>>()) f.traces_.push_back(read_trace(blob));
  if (!r.done()) throw std::invalid_argument("[import_function] Malformed file: trailing bytes.");
  return f;
}

std::vector<array> ImportedFunction::operator()(const std::vector<array>& xs) const {
  const Trace* t = nullptr;
  for (auto& tr : traces_) {
    if (tr->matches(xs)) {
      t = tr.get();
      break;
    }
  }
  if (!t) {
    throw std::invalid_argument("[import_function] No exported trace matches the inputs' shapes and dtypes.");
  }
  std::vector<array> values(xs.begin(), xs.end());
  values.insert(values.end(), t->constants.begin(), t->constants.end());
  for (auto& n : t->nodes) {
    std::vector<array> ins;
    for (auto id : n.inputs) ins.push_back(values[id]);
    if (t->shapeless) detail::rebroadcast_for_replay(*n.primitive, ins);
    auto shapes = t->shapeless ? n.primitive->output_shapes(ins) : n.shapes;
    if (n.shapes.size() == 1) {
      values.push_back(array(std::move(shapes[0]), n.dtypes[0], n.primitive, std::move(ins)));
    } else {
      auto outs = array::make_arrays(std::move(shapes), n.dtypes, n.primitive, ins);
      values.insert(values.end(), outs.begin(), outs.end());
    }
  }
  std::vector<array> out;
  for (auto id : t->outputs) out.push_back(values[id]);
  return out;
}

}  // namespace kiln
