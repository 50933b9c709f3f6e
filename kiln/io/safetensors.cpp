// .safetensors: an 8-byte little-endian header length, a JSON header mapping each name to its
// dtype, shape and [begin, end) byte range in the data section (plus "__metadata__": string
// pairs), then the data section.
#include <algorithm>

#include "kiln/io/common.h"
#include "kiln/io/json.h"

namespace kiln {
namespace io {
namespace {

const std::pair<const char*, Dtype> kDtypes[] = {
    {"BOOL", bool_}, {"U8", uint8},      {"U16", uint16},    {"U32", uint32},   {"U64", uint64},
    {"I8", int8},    {"I16", int16},     {"I32", int32},     {"I64", int64},    {"F16", float16},
    {"BF16", bfloat16}, {"F32", float32}, {"F64", float64}, {"C64", complex64}};

const char* st_name(Dtype t) {
  for (auto& [n, d] : kDtypes) {
    if (d == t) return n;
  }
  throw std::invalid_argument("[save_safetensors] Unsupported dtype.");
}

}  // namespace
}  // namespace io

void save_safetensors(Writer& out, const ArrayMap& arrays, const SafetensorsMetadata& metadata) {
  std::vector<std::pair<std::string, array>> items;
  for (auto& [name, a] : arrays) {
    if (name == "__metadata__") {
      throw std::invalid_argument("[save_safetensors] '__metadata__' is reserved and cannot name an array.");
    }
    items.emplace_back(name, io::dense(a));
  }
  // Wider elements first, so every tensor's offset is a multiple of its element size.
  std::stable_sort(items.begin(), items.end(),
                   [](const auto& x, const auto& y) { return x.second.itemsize() > y.second.itemsize(); });
  std::string h = "{";
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    bool first = true;
    for (auto& [k, v] : metadata) {
      if (!first) h += ",";
      first = false;
      h += io::json_quote(k) + ":" + io::json_quote(v);
    }
    h += "}";
  }
  uint64_t offset = 0;
  for (auto& [name, a] : items) {
    if (h.size() > 1) h += ",";
    h += io::json_quote(name) + ":{\"dtype\":\"" + io::st_name(a.dtype()) + "\",\"shape\":[";
    for (int i = 0; i < a.ndim(); ++i) {
      if (i) h += ',';
      h += std::to_string(a.shape(i));
    }
    h += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + a.nbytes()) + "]}";
    offset += a.nbytes();
  }
  h += "}";
  h.append((8 - h.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned
  uint64_t len = h.size();
  out.write(&len, 8);
  out.write(h.data(), h.size());
  for (auto& [name, a] : items) {
    if (a.nbytes()) out.write(a.data<char>(), a.nbytes());
  }
}

void save_safetensors(std::string file, const ArrayMap& arrays, const SafetensorsMetadata& metadata) {
  ArrayMap dense;
  for (auto& [name, a] : arrays) dense.emplace(name, io::dense(a));
  FileWriter w(io::with_extension(std::move(file), ".safetensors"));
  save_safetensors(w, dense, metadata);
}

std::pair<ArrayMap, SafetensorsMetadata> load_safetensors(Reader& in) {
  const std::string label = in.label();
  auto bad = [&](const std::string& what) { io::malformed("load_safetensors", label, what); };
  uint64_t size = in.size();
  if (size < 8) bad("too short for a .safetensors file (" + std::to_string(size) + " bytes)");
  uint64_t hlen;
  in.read(&hlen, 8, 0);
  if (hlen > size - 8) {
    bad("header length " + std::to_string(hlen) + " runs past the end of the file (" + std::to_string(size) +
        " bytes)");
  }
  std::string text(hlen, '\0');
  in.read(text.data(), hlen, 8);
  io::Json root;
  try {
    root = io::parse_json(text);
  } catch (const std::invalid_argument& e) {
    bad(std::string("the header is not valid JSON (") + e.what() + ")");
  }
  if (root.type != io::Json::Type::object) bad("the header is not a JSON object");
  uint64_t data_start = 8 + hlen, data_size = size - data_start;
  std::pair<ArrayMap, SafetensorsMetadata> out;
  for (auto& [name, v] : root.members) {
    if (name == "__metadata__") {
      if (v.type == io::Json::Type::null) continue;
      if (v.type != io::Json::Type::object) bad("'__metadata__' is not an object");
      for (auto& [k, s] : v.members) {
        if (s.type != io::Json::Type::string) bad("metadata value of '" + k + "' is not a string");
        out.second[k] = s.text;
      }
      continue;
    }
    if (v.type != io::Json::Type::object) bad("entry '" + name + "' is not an object");
    const io::Json *dt = nullptr, *shape = nullptr, *offs = nullptr;
    for (auto& [k, x] : v.members) {
      if (k == "dtype") dt = &x;
      else if (k == "shape") shape = &x;
      else if (k == "data_offsets") offs = &x;
    }
    if (!dt || !shape || !offs) bad("entry '" + name + "' lacks dtype, shape or data_offsets");
    if (dt->type != io::Json::Type::string) bad("entry '" + name + "' has a dtype that is not a string");
    const Dtype* dtype = nullptr;
    for (auto& [n, d] : io::kDtypes) {
      if (dt->text == n) dtype = &d;
    }
    if (!dtype) {
      throw std::invalid_argument("[load_safetensors] " + label + ": tensor '" + name + "' has dtype " + dt->text +
                                  ", which kiln does not support.");
    }
    if (shape->type != io::Json::Type::array) bad("entry '" + name + "' has a shape that is not a list");
    std::vector<int64_t> dims;
    for (auto& d : shape->items) {
      uint64_t x;
      if (!d.as_uint(x) || x > (1ull << 62)) bad("entry '" + name + "' has a shape that is not non-negative integers");
      dims.push_back(static_cast<int64_t>(x));
    }
    uint64_t b, e;
    if (offs->type != io::Json::Type::array || offs->items.size() != 2 || !offs->items[0].as_uint(b) ||
        !offs->items[1].as_uint(e) || b > e) {
      bad("entry '" + name + "' has bad data_offsets");
    }
    Shape sh;
    uint64_t nbytes = io::checked_nbytes("load_safetensors", label, dims, dtype->size, &sh);
    if (e > data_size) {
      bad("entry '" + name + "' ends at byte " + std::to_string(e) + " of a data section of " +
          std::to_string(data_size) + " bytes (truncated?)");
    }
    if (e - b != nbytes) {
      bad("entry '" + name + "' spans " + std::to_string(e - b) + " bytes but its shape and dtype need " +
          std::to_string(nbytes));
    }
    array a = io::empty_array(sh, *dtype);
    if (nbytes) in.read(a.data<char>(), nbytes, data_start + b);
    io::normalize_bools(a);
    if (!out.first.emplace(name, std::move(a)).second) bad("two entries are named '" + name + "'");
  }
  return out;
}

std::pair<ArrayMap, SafetensorsMetadata> load_safetensors(const std::string& file) {
  FileReader r(file);
  return load_safetensors(r);
}

}  // namespace kiln
