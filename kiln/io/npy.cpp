// NumPy's .npy format: a magic string, a version, a Python-dict header (descr, fortran_order,
// shape) padded so the data starts at a multiple of 64 bytes, then the raw elements.
#include <cctype>

#include "kiln/io/common.h"
#include "kiln/ops.h"
#include "kiln/transforms.h"

namespace kiln {
namespace io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

// bfloat16 has no NumPy type: MLX writes it as 2-byte void ('<V2') and reads that back as
// bfloat16; kiln does the same so files move between the two.
std::string descr(Dtype t) {
  switch (t.val) {
    case Dtype::Val::bool_: return "|b1";
    case Dtype::Val::uint8: return "|u1";
    case Dtype::Val::int8: return "|i1";
    case Dtype::Val::bfloat16: return "<V2";
    case Dtype::Val::complex64: return "<c8";
    default: break;
  }
  char k = is_floating_point(t) ? 'f' : is_unsigned(t) ? 'u' : 'i';
  return std::string("<") + k + std::to_string(t.size);
}

struct NpyHeader {
  Dtype dtype = float32;
  bool swap = false;  // big-endian data
  bool fortran = false;
  std::vector<int64_t> dims;
};

// A tolerant reader of the header dict NumPy writes: {'descr': '<f4', 'fortran_order': False,
// 'shape': (2, 3), } (keys in any order, either quote, trailing commas, old 'L' suffixes).
class HeaderParser {
 public:
  HeaderParser(const std::string& s, const std::string& label) : s_(s), label_(label) {}

  NpyHeader parse() {
    NpyHeader h;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (true) {
      ws();
      if (peek() == '}') break;
      std::string key = str();
      ws();
      expect(':');
      ws();
      if (key == "descr") {
        if (peek() != '\'' && peek() != '"') bad("structured dtypes (descr " + rest() + ") are not supported");
        set_dtype(h, str());
        seen_descr = true;
      } else if (key == "fortran_order") {
        if (s_.compare(i_, 4, "True") == 0) {
          h.fortran = true;
          i_ += 4;
        } else if (s_.compare(i_, 5, "False") == 0) {
          i_ += 5;
        } else {
          bad("fortran_order is neither True nor False");
        }
        seen_order = true;
      } else if (key == "shape") {
        expect('(');
        while (true) {
          ws();
          if (peek() == ')') break;
          if (!std::isdigit(static_cast<unsigned char>(peek()))) bad("the shape holds something other than integers");
          int64_t v = 0;
          while (std::isdigit(static_cast<unsigned char>(peek()))) {
            if (v > (int64_t(1) << 50)) bad("a dimension of the shape is too large");
            v = v * 10 + (s_[i_++] - '0');
          }
          if (peek() == 'L') ++i_;
          h.dims.push_back(v);
          ws();
          if (peek() == ',') ++i_;
          else if (peek() != ')') bad("the shape is not a tuple of integers");
        }
        ++i_;
        seen_shape = true;
      } else {
        bad("unexpected key '" + key + "' in the header");
      }
      ws();
      if (peek() == ',') ++i_;
      else if (peek() != '}') bad("the header is not a Python dict");
    }
    if (!seen_descr || !seen_order || !seen_shape) bad("the header lacks 'descr', 'fortran_order' or 'shape'");
    return h;
  }

 private:
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  void expect(char c) {
    ws();
    if (peek() != c) bad(std::string("expected '") + c + "' in the header");
    ++i_;
  }
  std::string rest() const { return s_.substr(i_, 40); }
  std::string str() {
    char q = peek();
    if (q != '\'' && q != '"') bad("expected a quoted string in the header");
    size_t j = s_.find(q, i_ + 1);
    if (j == std::string::npos) bad("unterminated string in the header");
    std::string out = s_.substr(i_ + 1, j - i_ - 1);
    i_ = j + 1;
    return out;
  }
  void set_dtype(NpyHeader& h, const std::string& d) {
    std::string code = d;
    char order = '|';
    if (!code.empty() && (code[0] == '<' || code[0] == '>' || code[0] == '|' || code[0] == '=')) {
      order = code[0];
      code = code.substr(1);
    }
    static const std::pair<const char*, Dtype> table[] = {
        {"b1", bool_},   {"u1", uint8},   {"u2", uint16},  {"u4", uint32},  {"u8", uint64},
        {"i1", int8},    {"i2", int16},   {"i4", int32},   {"i8", int64},   {"f2", float16},
        {"f4", float32}, {"f8", float64}, {"c8", complex64}, {"V2", bfloat16}};
    for (auto& [name, dt] : table) {
      if (code == name) {
        h.dtype = dt;
        h.swap = order == '>' && dt.size > 1 && dt != bfloat16;
        return;
      }
    }
    throw std::invalid_argument("[load] " + label_ + " holds dtype '" + d +
                                "', which kiln arrays cannot hold (supported: bool, (u)int8-64, float16/32/64, "
                                "complex64, and '<V2' as bfloat16).");
  }
  [[noreturn]] void bad(const std::string& what) const { malformed("load", label_, what); }

  const std::string& s_;
  const std::string& label_;
  size_t i_ = 0;
};

}  // namespace

std::string npy_header(const array& a) {
  std::string dict = "{'descr': '" + descr(a.dtype()) + "', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < a.ndim(); ++i) {
    dict += std::to_string(a.shape(i));
    if (a.ndim() == 1 || i + 1 < a.ndim()) dict += a.ndim() == 1 ? "," : ", ";
  }
  dict += "), }";
  // Version 1 stores the header length in 2 bytes; longer headers need version 2 (4 bytes).
  bool v2 = dict.size() + 1 + 10 + 64 > 65535;
  size_t prefix = v2 ? 12 : 10;
  size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict += '\n';
  Bytes b;
  b.put(kMagic, 6);
  b.put(static_cast<uint8_t>(v2 ? 2 : 1));
  b.put(static_cast<uint8_t>(0));
  if (v2) b.put(static_cast<uint32_t>(dict.size()));
  else b.put(static_cast<uint16_t>(dict.size()));
  b.put(dict);
  return std::string(b.v.begin(), b.v.end());
}

array load_npy_at(Reader& in, uint64_t start, uint64_t end, const std::string& label) {
  // Reads go strictly forward (the .npz reader feeds inflated entries through this).
  uint64_t size = end - start;
  if (size < 10) malformed("load", label, "too short for a .npy file (" + std::to_string(size) + " bytes)");
  char pre[8];
  in.read(pre, 8, start);
  if (std::memcmp(pre, kMagic, 6) != 0) malformed("load", label, "not a .npy file (bad magic string)");
  int major = static_cast<unsigned char>(pre[6]);
  if (major < 1 || major > 3) malformed("load", label, "unsupported .npy version " + std::to_string(major));
  uint64_t pos = 8;
  uint64_t hlen = 0;
  if (major == 1) {
    uint16_t l;
    in.read(&l, 2, start + pos);
    hlen = l;
    pos += 2;
  } else {
    if (size < 12) malformed("load", label, "truncated header");
    uint32_t l;
    in.read(&l, 4, start + pos);
    hlen = l;
    pos += 4;
  }
  if (hlen > size - pos) {
    malformed("load", label,
              "header length " + std::to_string(hlen) + " runs past the end (" + std::to_string(size) + " bytes)");
  }
  std::string text(hlen, '\0');
  in.read(text.data(), hlen, start + pos);
  pos += hlen;
  NpyHeader h = HeaderParser(text, label).parse();
  Shape shape;
  uint64_t nbytes = checked_nbytes("load", label, h.dims, h.dtype.size, &shape);
  if (nbytes > size - pos) {
    malformed("load", label,
              "the header's shape needs " + std::to_string(nbytes) + " bytes of data but " +
                  std::to_string(size - pos) + " remain (truncated?)");
  }
  bool fortran = h.fortran && shape.size() > 1;
  Shape stored = shape;
  if (fortran) std::reverse(stored.begin(), stored.end());
  array a = empty_array(stored, h.dtype);
  if (nbytes) in.read(a.data<char>(), nbytes, start + pos);
  normalize_bools(a);
  if (h.swap) {
    if (h.dtype == complex64) byteswap(a.data<char>(), a.size() * 2, 4);
    else byteswap(a.data<char>(), a.size(), h.dtype.size);
  }
  if (fortran) {
    a = transpose(a);  // a column-major view of the same buffer
    eval(a);
  }
  return a;
}

}  // namespace io

void save(Writer& out, array a) {
  a = io::dense(a);
  std::string head = io::npy_header(a);
  out.write(head.data(), head.size());
  if (a.nbytes()) out.write(a.data<char>(), a.nbytes());
}

void save(std::string file, array a) {
  a = io::dense(a);  // before the file is created, so a failing graph leaves no empty file
  FileWriter w(io::with_extension(std::move(file), ".npy"));
  save(w, a);
}

array load(Reader& in) { return io::load_npy_at(in, 0, in.size(), in.label()); }

array load(const std::string& file) {
  FileReader r(file);
  return load(r);
}

}  // namespace kiln
