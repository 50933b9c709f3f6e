#include "kiln/dtype.h"

#include <stdexcept>

namespace kiln {

namespace {

constexpr int kNumDtypes = 14;

// MLX's promotion table, rows and columns in Dtype::Val order. It differs from NumPy where
// MLX does: uint64 with a signed integer is float32, any integer with a float stays that float,
// float16 with bfloat16 is float32.
constexpr Dtype::Val B = Dtype::Val::bool_, U8 = Dtype::Val::uint8, U16 = Dtype::Val::uint16,
                     U32 = Dtype::Val::uint32, U64 = Dtype::Val::uint64, I8 = Dtype::Val::int8,
                     I16 = Dtype::Val::int16, I32 = Dtype::Val::int32, I64 = Dtype::Val::int64,
                     F16 = Dtype::Val::float16, BF = Dtype::Val::bfloat16,
                     F32 = Dtype::Val::float32, F64 = Dtype::Val::float64,
                     C64 = Dtype::Val::complex64;

constexpr Dtype::Val kPromotion[kNumDtypes][kNumDtypes] = {
    // B    U8   U16  U32  U64  I8   I16  I32  I64  F16  BF   F32  F64  C64
    {B, U8, U16, U32, U64, I8, I16, I32, I64, F16, BF, F32, F64, C64},            // B
    {U8, U8, U16, U32, U64, I16, I16, I32, I64, F16, BF, F32, F64, C64},          // U8
    {U16, U16, U16, U32, U64, I32, I32, I32, I64, F16, BF, F32, F64, C64},        // U16
    {U32, U32, U32, U32, U64, I64, I64, I64, I64, F16, BF, F32, F64, C64},        // U32
    {U64, U64, U64, U64, U64, F32, F32, F32, F32, F16, BF, F32, F64, C64},        // U64
    {I8, I16, I32, I64, F32, I8, I16, I32, I64, F16, BF, F32, F64, C64},          // I8
    {I16, I16, I32, I64, F32, I16, I16, I32, I64, F16, BF, F32, F64, C64},        // I16
    {I32, I32, I32, I64, F32, I32, I32, I32, I64, F16, BF, F32, F64, C64},        // I32
    {I64, I64, I64, I64, F32, I64, I64, I64, I64, F16, BF, F32, F64, C64},        // I64
    {F16, F16, F16, F16, F16, F16, F16, F16, F16, F16, F32, F32, F64, C64},       // F16
    {BF, BF, BF, BF, BF, BF, BF, BF, BF, F32, BF, F32, F64, C64},                 // BF
    {F32, F32, F32, F32, F32, F32, F32, F32, F32, F32, F32, F32, F64, C64},       // F32
    {F64, F64, F64, F64, F64, F64, F64, F64, F64, F64, F64, F64, F64, C64},       // F64
    {C64, C64, C64, C64, C64, C64, C64, C64, C64, C64, C64, C64, C64, C64},       // C64
};

Dtype from_val(Dtype::Val v) {
  for (auto d : all_dtypes) {
    if (d.val == v) return d;
  }
  throw std::logic_error("[Dtype] unknown dtype value");
}

}  // namespace

Dtype::Kind kind(Dtype t) {
  switch (t.val) {
    case Dtype::Val::bool_: return Dtype::Kind::b;
    case Dtype::Val::uint8:
    case Dtype::Val::uint16:
    case Dtype::Val::uint32:
    case Dtype::Val::uint64: return Dtype::Kind::u;
    case Dtype::Val::int8:
    case Dtype::Val::int16:
    case Dtype::Val::int32:
    case Dtype::Val::int64: return Dtype::Kind::i;
    case Dtype::Val::float16:
    case Dtype::Val::float32:
    case Dtype::Val::float64: return Dtype::Kind::f;
    case Dtype::Val::bfloat16: return Dtype::Kind::V;
    case Dtype::Val::complex64: return Dtype::Kind::c;
  }
  return Dtype::Kind::b;
}

Dtype promote_types(Dtype a, Dtype b) {
  return from_val(kPromotion[static_cast<int>(a.val)][static_cast<int>(b.val)]);
}

namespace {
Dtype::Category category_of(Dtype t) {
  switch (kind(t)) {
    case Dtype::Kind::b: return Dtype::Category::generic;
    case Dtype::Kind::u: return Dtype::Category::unsignedinteger;
    case Dtype::Kind::i: return Dtype::Category::signedinteger;
    case Dtype::Kind::f:
    case Dtype::Kind::V: return Dtype::Category::floating;
    case Dtype::Kind::c: return Dtype::Category::complexfloating;
  }
  return Dtype::Category::generic;
}
}  // namespace

bool issubdtype(Dtype::Category a, Dtype::Category b) {
  using C = Dtype::Category;
  if (a == b || b == C::generic) return true;
  switch (a) {
    case C::complexfloating:
    case C::floating: return b == C::inexact || b == C::number;
    case C::inexact: return b == C::number;
    case C::signedinteger:
    case C::unsignedinteger: return b == C::integer || b == C::number;
    case C::integer: return b == C::number;
    default: return false;
  }
}

bool issubdtype(Dtype a, Dtype::Category c) {
  if (a == bool_) return c == Dtype::Category::generic;
  return issubdtype(category_of(a), c);
}
bool issubdtype(Dtype a, Dtype b) { return a == b; }
bool issubdtype(Dtype::Category, Dtype) { return false; }

std::string dtype_name(Dtype t) {
  switch (t.val) {
    case Dtype::Val::bool_: return "bool";
    case Dtype::Val::uint8: return "uint8";
    case Dtype::Val::uint16: return "uint16";
    case Dtype::Val::uint32: return "uint32";
    case Dtype::Val::uint64: return "uint64";
    case Dtype::Val::int8: return "int8";
    case Dtype::Val::int16: return "int16";
    case Dtype::Val::int32: return "int32";
    case Dtype::Val::int64: return "int64";
    case Dtype::Val::float16: return "float16";
    case Dtype::Val::bfloat16: return "bfloat16";
    case Dtype::Val::float32: return "float32";
    case Dtype::Val::float64: return "float64";
    case Dtype::Val::complex64: return "complex64";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, Dtype t) { return os << dtype_name(t); }

std::ostream& operator<<(std::ostream& os, Dtype::Category c) {
  using C = Dtype::Category;
  switch (c) {
    case C::complexfloating: return os << "complexfloating";
    case C::floating: return os << "floating";
    case C::inexact: return os << "inexact";
    case C::signedinteger: return os << "signedinteger";
    case C::unsignedinteger: return os << "unsignedinteger";
    case C::integer: return os << "integer";
    case C::number: return os << "number";
    case C::generic: return os << "generic";
  }
  return os;
}

void throw_unsupported_dtype(const char* op, Dtype t) {
  throw std::invalid_argument(std::string("[") + op + "] Unsupported dtype " + dtype_name(t) + ".");
}

}  // namespace kiln
