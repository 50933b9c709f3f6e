// GGUF (v2/v3, little-endian): a header, typed key-value metadata, tensor descriptions (name,
// dims fastest-first, ggml type, offset), then the aligned tensor data.
#include <sstream>

#include "kiln/io/common.h"

namespace kiln {
namespace io {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF"
constexpr uint64_t kDefaultAlignment = 32;

enum ValueType : uint32_t { U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 };

// Metadata value types that are numbers or bools, with their dtypes.
const std::pair<ValueType, Dtype> kValueDtypes[] = {{U8, uint8},  {I8, int8},   {U16, uint16}, {I16, int16},
                                                    {U32, uint32}, {I32, int32}, {F32, float32}, {BOOL, bool_},
                                                    {U64, uint64}, {I64, int64}, {F64, float64}};

struct GgmlType {
  uint32_t id;
  const char* name;
  uint32_t block;  // elements per block
  uint32_t bytes;  // bytes per block (0: kiln does not know the layout)
};
const GgmlType kTypes[] = {
    {0, "F32", 1, 4},       {1, "F16", 1, 2},        {2, "Q4_0", 32, 18},    {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22},    {7, "Q5_1", 32, 24},     {8, "Q8_0", 32, 34},    {9, "Q8_1", 32, 36},
    {10, "Q2_K", 256, 84},  {11, "Q3_K", 256, 110},  {12, "Q4_K", 256, 144}, {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210}, {15, "Q8_K", 256, 292},  {16, "IQ2_XXS", 0, 0},  {17, "IQ2_XS", 0, 0},
    {18, "IQ3_XXS", 0, 0},  {19, "IQ1_S", 0, 0},     {20, "IQ4_NL", 0, 0},   {21, "IQ3_S", 0, 0},
    {22, "IQ2_S", 0, 0},    {23, "IQ4_XS", 0, 0},    {24, "I8", 1, 1},       {25, "I16", 1, 2},
    {26, "I32", 1, 4},      {27, "I64", 1, 8},       {28, "F64", 1, 8},      {29, "IQ1_M", 0, 0},
    {30, "BF16", 1, 2},     {34, "TQ1_0", 0, 0},     {35, "TQ2_0", 0, 0},    {39, "MXFP4", 0, 0}};

// Tensor types that load as arrays, both ways.
const std::pair<uint32_t, Dtype> kTensorDtypes[] = {{0, float32}, {1, float16}, {30, bfloat16}, {28, float64},
                                                    {24, int8},   {25, int16},  {26, int32},    {27, int64}};

const GgmlType* ggml_type(uint32_t id) {
  for (auto& t : kTypes) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

std::string read_string(Cursor& c, const char* what) {
  uint64_t n = c.get<uint64_t>(what);
  return c.string(n, what);
}

GGUFMetaValue read_value(Cursor& c, uint32_t type, const std::string& key) {
  for (auto& [vt, dt] : kValueDtypes) {
    if (vt == type) {
      array a = empty_array({}, dt);
      c.read(a.data<char>(), dt.size, "a metadata value");
      normalize_bools(a);
      return a;
    }
  }
  if (type == STRING) return read_string(c, "a metadata string");
  if (type != ARRAY) c.fail("metadata '" + key + "' has unknown value type " + std::to_string(type));
  uint32_t elem = c.get<uint32_t>("a metadata array");
  uint64_t n = c.get<uint64_t>("a metadata array");
  if (elem == STRING) {
    if (n > c.remaining() / 8) c.fail("metadata array '" + key + "' has more strings than the file can hold");
    std::vector<std::string> out;
    out.reserve(static_cast<size_t>(n));
    for (uint64_t i = 0; i < n; ++i) out.push_back(read_string(c, "a metadata string"));
    return out;
  }
  for (auto& [vt, dt] : kValueDtypes) {
    if (vt == elem) {
      if (n > c.remaining() / dt.size) c.fail("metadata array '" + key + "' runs past the end of the file");
      array a = empty_array({static_cast<ShapeElem>(n)}, dt);
      c.read(a.data<char>(), n * dt.size, "a metadata array");
      normalize_bools(a);
      return a;
    }
  }
  if (elem == ARRAY) {
    throw std::invalid_argument("[load_gguf] " + c.reader().label() + ": metadata '" + key +
                                "' is an array of arrays, which kiln does not support.");
  }
  c.fail("metadata array '" + key + "' has unknown element type " + std::to_string(elem));
}

uint16_t f16_bits(float x) {
  float16_t h = static_cast<float16_t>(x);
  uint16_t b;
  std::memcpy(&b, &h, 2);
  return b;
}
float f16_value(const unsigned char* p) {
  float16_t h;
  std::memcpy(&h, p, 2);
  return static_cast<float>(h);
}

// Q4_0, Q4_1 and Q8_0 blocks of 32 values as MLX's affine quantization: value = scale * q + bias
// with unsigned q packed little-endian in uint32 words (4 bits: 8 per word; 8 bits: 4 per word).
void convert_quantized(const GgmlType& t, const unsigned char* src, uint64_t blocks, uint32_t* w, uint16_t* scales,
                       uint16_t* biases) {
  for (uint64_t b = 0; b < blocks; ++b) {
    const unsigned char* blk = src + b * t.bytes;
    float d = f16_value(blk);
    std::memcpy(&scales[b], blk, 2);
    if (t.id == 8) {  // Q8_0: int8 q; q + 128 is unsigned, so the bias is -128 d
      biases[b] = f16_bits(-128.0f * d);
      unsigned char u[32];
      for (int i = 0; i < 32; ++i) u[i] = blk[2 + i] ^ 0x80;
      std::memcpy(w + b * 8, u, 32);
      continue;
    }
    const unsigned char* qs = blk + (t.id == 3 ? 4 : 2);
    if (t.id == 3) std::memcpy(&biases[b], blk + 2, 2);  // Q4_1: value = d q + m
    else biases[b] = f16_bits(-8.0f * d);                 // Q4_0: value = d (q - 8)
    // Element i < 16 is the low nibble of qs[i], element i + 16 its high nibble.
    uint32_t* out = w + b * 4;
    for (int k = 0; k < 4; ++k) {
      uint32_t word = 0;
      for (int j = 0; j < 8; ++j) {
        int i = k * 8 + j;
        uint32_t q = i < 16 ? (qs[i] & 0xf) : (qs[i - 16] >> 4);
        word |= q << (4 * j);
      }
      out[k] = word;
    }
  }
}

// K-quant super-blocks of 256 values, expanded to float16 as MLX does for Q2_K, Q4_K and Q6_K
// (kiln adds Q3_K and Q5_K). Each function maps element e of a block to its value.
namespace kquant {

// Q4_K / Q5_K: 8 sub-blocks of 32 with 6-bit scales and mins packed in 12 bytes.
void scale_min(int sub, const unsigned char* s, float& sc, float& m) {
  if (sub < 4) {
    sc = s[sub] & 63;
    m = s[sub + 4] & 63;
  } else {
    sc = (s[sub + 4] & 0xf) | ((s[sub - 4] >> 6) << 4);
    m = (s[sub + 4] >> 4) | ((s[sub] >> 6) << 4);
  }
}

void q2_k(const unsigned char* b, float16_t* y) {  // scales[16] qs[64] d dmin
  const unsigned char *scales = b, *qs = b + 16;
  float d = f16_value(b + 80), dmin = f16_value(b + 82);
  for (int e = 0; e < 256; ++e) {
    int half = e / 128, j = (e % 128) / 32, l = e % 32;
    int sc = scales[half * 8 + j * 2 + l / 16];
    int q = (qs[half * 32 + l] >> (2 * j)) & 3;
    y[e] = static_cast<float16_t>(d * (sc & 0xf) * q - dmin * (sc >> 4));
  }
}

void q3_k(const unsigned char* b, float16_t* y) {  // hmask[32] qs[64] scales[12] d
  const unsigned char *hmask = b, *qs = b + 32, *s = b + 96;
  float d = f16_value(b + 108);
  int scale[16];
  for (int i = 0; i < 16; ++i) {
    int low = i < 8 ? (s[i] & 0xf) : (s[i - 8] >> 4);
    int high = (s[8 + i % 4] >> (2 * (i / 4))) & 3;
    scale[i] = (low | (high << 4)) - 32;
  }
  for (int e = 0; e < 256; ++e) {
    int half = e / 128, j = (e % 128) / 32, l = e % 32;
    int q = (qs[half * 32 + l] >> (2 * j)) & 3;
    if (!(hmask[l] & (1 << (half * 4 + j)))) q -= 4;
    y[e] = static_cast<float16_t>(d * scale[half * 8 + j * 2 + l / 16] * q);
  }
}

void q45_k(const unsigned char* b, float16_t* y, bool five) {  // d dmin scales[12] [qh[32]] qs[128]
  float d = f16_value(b), dmin = f16_value(b + 2);
  const unsigned char *s = b + 4, *qh = b + 16, *qs = b + (five ? 48 : 16);
  for (int sub = 0; sub < 8; ++sub) {
    float sc, m;
    scale_min(sub, s, sc, m);
    for (int l = 0; l < 32; ++l) {
      unsigned char byte = qs[(sub / 2) * 32 + l];
      int q = sub % 2 ? byte >> 4 : byte & 0xf;
      if (five && (qh[l] >> sub & 1)) q += 16;
      y[sub * 32 + l] = static_cast<float16_t>(d * sc * q - dmin * m);
    }
  }
}

void q6_k(const unsigned char* b, float16_t* y) {  // ql[128] qh[64] scales[16] (int8) d
  const unsigned char *ql = b, *qh = b + 128;
  const signed char* sc = reinterpret_cast<const signed char*>(b + 192);
  float d = f16_value(b + 208);
  for (int e = 0; e < 256; ++e) {
    int half = e / 128, k = (e % 128) / 32, l = e % 32;
    unsigned char low = ql[half * 64 + l + (k % 2) * 32];
    int q = ((k < 2 ? low & 0xf : low >> 4) | (((qh[half * 32 + l] >> (2 * k)) & 3) << 4)) - 32;
    y[e] = static_cast<float16_t>(d * sc[half * 8 + l / 16 + 2 * k] * q);
  }
}

}  // namespace kquant

bool is_k_quant(uint32_t id) { return id >= 10 && id <= 14; }

void dequantize_k(const GgmlType& t, const unsigned char* src, uint64_t blocks, float16_t* out) {
  for (uint64_t i = 0; i < blocks; ++i) {
    const unsigned char* b = src + i * t.bytes;
    float16_t* y = out + i * 256;
    switch (t.id) {
      case 10: kquant::q2_k(b, y); break;
      case 11: kquant::q3_k(b, y); break;
      case 12: kquant::q45_k(b, y, false); break;
      case 13: kquant::q45_k(b, y, true); break;
      default: kquant::q6_k(b, y); break;
    }
  }
}

void put_string(Bytes& b, const std::string& s) {
  b.put(static_cast<uint64_t>(s.size()));
  b.put(s);
}

}  // namespace
}  // namespace io

void save_gguf(Writer& out, const ArrayMap& arrays, const GGUFMetadata& metadata) {
  using namespace io;
  // Readers align tensor data to general.alignment when the metadata sets it.
  uint64_t alignment = kDefaultAlignment;
  if (auto it = metadata.find("general.alignment"); it != metadata.end()) {
    auto* a = std::get_if<array>(&it->second);
    uint64_t v = 0;
    if (a && a->ndim() == 0 && a->dtype() == uint32) v = dense(*a).data<uint32_t>()[0];
    if (v == 0 || (v & (v - 1))) {
      throw std::invalid_argument("[save_gguf] general.alignment must be a uint32 scalar power of two.");
    }
    alignment = v;
  }
  Bytes h;
  h.put(kMagic);
  h.put(static_cast<uint32_t>(3));
  h.put(static_cast<uint64_t>(arrays.size()));
  h.put(static_cast<uint64_t>(metadata.size()));
  for (auto& [key, value] : metadata) {
    put_string(h, key);
    if (auto* s = std::get_if<std::string>(&value)) {
      h.put(static_cast<uint32_t>(STRING));
      put_string(h, *s);
    } else if (auto* v = std::get_if<std::vector<std::string>>(&value)) {
      h.put(static_cast<uint32_t>(ARRAY));
      h.put(static_cast<uint32_t>(STRING));
      h.put(static_cast<uint64_t>(v->size()));
      for (auto& s : *v) put_string(h, s);
    } else {
      array a = dense(std::get<array>(value));
      if (a.ndim() > 1) {
        throw std::invalid_argument("[save_gguf] Metadata '" + key + "' must be a scalar or 1-D array; got shape " +
                                    [&] { std::ostringstream os; os << a.shape(); return os.str(); }() + ".");
      }
      const ValueType* vt = nullptr;
      for (auto& [t, d] : kValueDtypes) {
        if (d == a.dtype()) vt = &t;
      }
      if (!vt) {
        throw std::invalid_argument("[save_gguf] Metadata '" + key + "' has dtype " + dtype_name(a.dtype()) +
                                    ", which GGUF metadata cannot hold.");
      }
      if (a.ndim() == 1) {
        h.put(static_cast<uint32_t>(ARRAY));
        h.put(static_cast<uint32_t>(*vt));
        h.put(static_cast<uint64_t>(a.size()));
      } else {
        h.put(static_cast<uint32_t>(*vt));
      }
      h.put(a.data<char>(), a.nbytes());
    }
  }
  std::vector<array> dense_arrays;
  uint64_t offset = 0;
  for (auto& [name, a0] : arrays) {
    array a = dense(a0);
    const uint32_t* type = nullptr;
    for (auto& [id, d] : kTensorDtypes) {
      if (d == a.dtype()) type = &id;
    }
    if (!type) {
      throw std::invalid_argument("[save_gguf] Array '" + name + "' has dtype " + dtype_name(a.dtype()) +
                                  "; GGUF holds float32, float16, bfloat16, float64 and int8-int64.");
    }
    put_string(h, name);
    h.put(static_cast<uint32_t>(a.ndim()));
    for (int i = a.ndim() - 1; i >= 0; --i) h.put(static_cast<uint64_t>(a.shape(i)));
    h.put(*type);
    h.put(offset);
    offset += (a.nbytes() + alignment - 1) / alignment * alignment;
    dense_arrays.push_back(a);
  }
  h.v.resize((h.v.size() + alignment - 1) / alignment * alignment, 0);
  out.write(h.v.data(), h.v.size());
  const std::vector<char> zeros(alignment, 0);
  for (auto& a : dense_arrays) {
    if (a.nbytes()) out.write(a.data<char>(), a.nbytes());
    uint64_t pad = (alignment - a.nbytes() % alignment) % alignment;
    if (pad) out.write(zeros.data(), pad);
  }
}

void save_gguf(std::string file, const ArrayMap& arrays, const GGUFMetadata& metadata) {
  ArrayMap dense;
  for (auto& [name, a] : arrays) dense.emplace(name, io::dense(a));
  FileWriter w(io::with_extension(std::move(file), ".gguf"));
  save_gguf(w, dense, metadata);
}

std::pair<ArrayMap, GGUFMetadata> load_gguf(Reader& in) {
  using namespace io;
  const std::string label = in.label();
  Cursor c(in, "load_gguf");
  if (in.size() < 24) malformed("load_gguf", label, "too short for a GGUF file");
  if (c.get<uint32_t>() != kMagic) malformed("load_gguf", label, "not a GGUF file (bad magic)");
  uint32_t version = c.get<uint32_t>();
  if (version == 0x02000000u || version == 0x03000000u) {
    throw std::invalid_argument("[load_gguf] " + label + " is a big-endian GGUF file, which kiln does not support.");
  }
  if (version != 2 && version != 3) {
    throw std::invalid_argument("[load_gguf] " + label + " has GGUF version " + std::to_string(version) +
                                "; kiln reads versions 2 and 3.");
  }
  uint64_t n_tensors = c.get<uint64_t>(), n_kv = c.get<uint64_t>();
  // Each key-value pair takes at least 13 bytes and each tensor description at least 24.
  if (n_kv > c.remaining() / 13) c.fail("the metadata count (" + std::to_string(n_kv) + ") is larger than the file");
  if (n_tensors > c.remaining() / 24) {
    c.fail("the tensor count (" + std::to_string(n_tensors) + ") is larger than the file");
  }
  std::pair<ArrayMap, GGUFMetadata> out;
  uint64_t alignment = kDefaultAlignment;
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = read_string(c, "a metadata key");
    uint32_t type = c.get<uint32_t>("a metadata type");
    GGUFMetaValue v = read_value(c, type, key);
    if (key == "general.alignment") {
      auto* a = std::get_if<array>(&v);
      if (!a || a->ndim() != 0 || a->dtype() != uint32) c.fail("general.alignment is not a uint32");
      alignment = a->data<uint32_t>()[0];
      if (alignment == 0 || (alignment & (alignment - 1))) c.fail("general.alignment is not a power of two");
    }
    if (!out.second.emplace(std::move(key), std::move(v)).second) c.fail("a metadata key appears twice");
  }
  struct Info {
    std::string name;
    std::vector<int64_t> dims;  // numpy order (slowest first)
    const GgmlType* type;
    uint64_t offset;
  };
  std::vector<Info> infos;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    Info t;
    t.name = read_string(c, "a tensor name");
    uint32_t nd = c.get<uint32_t>("a tensor description");
    if (nd > 16) c.fail("tensor '" + t.name + "' has " + std::to_string(nd) + " dimensions");
    for (uint32_t k = 0; k < nd; ++k) {
      uint64_t d = c.get<uint64_t>("a tensor description");
      if (d > (1ull << 40)) c.fail("tensor '" + t.name + "' has an impossible dimension " + std::to_string(d));
      t.dims.insert(t.dims.begin(), static_cast<int64_t>(d));
    }
    uint32_t type = c.get<uint32_t>("a tensor description");
    t.type = ggml_type(type);
    if (!t.type) c.fail("tensor '" + t.name + "' has unknown ggml type " + std::to_string(type));
    t.offset = c.get<uint64_t>("a tensor description");
    infos.push_back(std::move(t));
  }
  uint64_t data_start = (c.pos() + alignment - 1) / alignment * alignment;
  if (data_start > in.size()) data_start = in.size();
  uint64_t data_size = in.size() - data_start;
  for (auto& t : infos) {
    const GgmlType& ty = *t.type;
    Dtype dtype = uint8;
    bool plain = false;
    for (auto& [id, d] : kTensorDtypes) {
      if (id == ty.id) {
        dtype = d;
        plain = true;
      }
    }
    bool quantized = ty.id == 2 || ty.id == 3 || ty.id == 8;
    if (!plain && !quantized && !is_k_quant(ty.id)) {
      throw std::invalid_argument("[load_gguf] " + label + ": tensor '" + t.name + "' has ggml type " + ty.name +
                                  ", which kiln cannot load (supported: F32, F16, BF16, F64, I8-I64, Q4_0, Q4_1, "
                                  "Q8_0, and Q2_K-Q6_K expanded to float16).");
    }
    int64_t ne0 = t.dims.empty() ? 1 : t.dims.back();
    if (ne0 % ty.block != 0) {
      c.fail("tensor '" + t.name + "' has a row of " + std::to_string(ne0) + " elements, not a multiple of the " +
             ty.name + " block of " + std::to_string(ty.block));
    }
    Shape shape;
    uint64_t nbytes = checked_nbytes("load_gguf", label, t.dims, 1, &shape) / ty.block * ty.bytes;
    if (t.offset > data_size || nbytes > data_size - t.offset) {
      c.fail("tensor '" + t.name + "' runs past the end of the file (truncated?)");
    }
    if (plain) {
      array a = empty_array(shape, dtype);
      if (nbytes) in.read(a.data<char>(), nbytes, data_start + t.offset);
      if (!out.first.emplace(t.name, std::move(a)).second) c.fail("two tensors are named '" + t.name + "'");
      continue;
    }
    std::vector<char> raw(static_cast<size_t>(nbytes));
    if (nbytes) in.read(raw.data(), nbytes, data_start + t.offset);
    if (is_k_quant(ty.id)) {
      array a = empty_array(shape, float16);
      dequantize_k(ty, reinterpret_cast<const unsigned char*>(raw.data()), nbytes / ty.bytes, a.data<float16_t>());
      if (!out.first.emplace(t.name, std::move(a)).second) c.fail("two tensors are named '" + t.name + "'");
      continue;
    }
    // Q4_0 / Q4_1 / Q8_0 become MLX's triplet; "x.weight" gives "x.scales" and "x.biases".
    int bits = ty.id == 8 ? 8 : 4;
    Shape wshape = shape, sshape = shape;
    if (shape.empty()) {
      wshape = sshape = Shape{1};
    }
    wshape.back() = static_cast<ShapeElem>(static_cast<int64_t>(wshape.back()) * bits / 32);
    sshape.back() = static_cast<ShapeElem>(sshape.back() / 32);
    array w = empty_array(wshape, uint32), s = empty_array(sshape, float16), b = empty_array(sshape, float16);
    convert_quantized(ty, reinterpret_cast<const unsigned char*>(raw.data()), nbytes / ty.bytes, w.data<uint32_t>(),
                      s.data<uint16_t>(), b.data<uint16_t>());
    std::string base = t.name;
    const std::string suffix = ".weight";
    if (base.size() > suffix.size() && base.compare(base.size() - suffix.size(), suffix.size(), suffix) == 0) {
      base.resize(base.size() - suffix.size());
    }
    bool ok = out.first.emplace(t.name, w).second;
    ok = out.first.emplace(base + ".scales", s).second && ok;
    ok = out.first.emplace(base + ".biases", b).second && ok;
    if (!ok) c.fail("tensor names collide with the scales/biases of '" + t.name + "'");
  }
  return out;
}

std::pair<ArrayMap, GGUFMetadata> load_gguf(const std::string& file) {
  FileReader r(file);
  return load_gguf(r);
}

}  // namespace kiln
