// NumPy's .npz: a zip archive of .npy files, stored or deflated (zlib), with ZIP64 records
// when sizes or offsets pass 4 GiB. Entries are read through a sequential reader that inflates
// (or copies) straight into the arrays' buffers and checks each entry's CRC-32.
#include <zlib.h>

#include "kiln/io/common.h"

namespace kiln {
namespace io {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50, kLocator64Sig = 0x07064b50;
constexpr uint32_t k32 = 0xffffffffu;
constexpr uint16_t kDosDate1980 = (1 << 5) | 1;  // 1980-01-01, as NumPy's entries

uint32_t crc32_of(uint32_t crc, const char* p, uint64_t n) {
  while (n > 0) {
    uInt chunk = static_cast<uInt>(std::min<uint64_t>(n, 1u << 30));
    crc = static_cast<uint32_t>(::crc32(crc, reinterpret_cast<const Bytef*>(p), chunk));
    p += chunk;
    n -= chunk;
  }
  return crc;
}

struct Entry {
  std::string name;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t csize = 0, usize = 0, offset = 0;
};

// Counts what it writes, for the offsets the central directory records.
struct CountingWriter {
  Writer& w;
  uint64_t pos = 0;
  void write(const void* p, uint64_t n) {
    if (n) w.write(p, n);
    pos += n;
  }
  void write(const Bytes& b) { write(b.v.data(), b.v.size()); }
};

void write_entry(CountingWriter& out, std::vector<Entry>& entries, const std::string& name, const array& a,
                 bool compressed) {
  std::string head = npy_header(a);
  const char* data = a.data<char>();
  uint64_t nbytes = a.nbytes();
  Entry e;
  e.name = name + ".npy";
  e.usize = head.size() + nbytes;
  e.crc = crc32_of(crc32_of(0, head.data(), head.size()), data, nbytes);
  std::vector<char> deflated;
  if (compressed) {
    z_stream z{};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::runtime_error("[savez_compressed] zlib failed to initialize.");
    }
    // Starts small and doubles: a bound for a huge array would allocate its size up front.
    deflated.resize(std::min<uint64_t>(deflateBound(&z, static_cast<uLong>(e.usize)), 1u << 24) + 1024);
    uint64_t done = 0;
    auto feed = [&](const char* p, uint64_t n, bool last) {
      while (true) {
        uInt in_chunk = static_cast<uInt>(std::min<uint64_t>(n, 1u << 30));
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(p));
        z.avail_in = in_chunk;
        bool final_chunk = last && in_chunk == n;
        int flush = final_chunk ? Z_FINISH : Z_NO_FLUSH;
        int rc;
        do {
          if (deflated.size() - done < (1u << 16)) deflated.resize(deflated.size() * 2 + (1u << 16));
          z.next_out = reinterpret_cast<Bytef*>(deflated.data() + done);
          uInt avail = static_cast<uInt>(std::min<uint64_t>(deflated.size() - done, 1u << 30));
          z.avail_out = avail;
          rc = deflate(&z, flush);
          done += avail - z.avail_out;
          if (rc == Z_STREAM_ERROR) {
            deflateEnd(&z);
            throw std::runtime_error("[savez_compressed] zlib deflate failed.");
          }
        } while (z.avail_in > 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
        p += in_chunk;
        n -= in_chunk;
        if (n == 0) break;
      }
    };
    feed(head.data(), head.size(), nbytes == 0);
    if (nbytes) feed(data, nbytes, true);
    deflateEnd(&z);
    deflated.resize(done);
    e.method = 8;
    e.csize = done;
  } else {
    e.csize = e.usize;
  }
  e.offset = out.pos;
  bool zip64 = e.usize >= k32 || e.csize >= k32;
  Bytes h;
  h.put(kLocalSig);
  h.put(static_cast<uint16_t>(zip64 ? 45 : 20));
  h.put(static_cast<uint16_t>(0x0800));  // names are UTF-8
  h.put(e.method);
  h.put(static_cast<uint16_t>(0));
  h.put(kDosDate1980);
  h.put(e.crc);
  h.put(static_cast<uint32_t>(zip64 ? k32 : e.csize));
  h.put(static_cast<uint32_t>(zip64 ? k32 : e.usize));
  h.put(static_cast<uint16_t>(e.name.size()));
  h.put(static_cast<uint16_t>(zip64 ? 20 : 0));
  h.put(e.name);
  if (zip64) {
    h.put(static_cast<uint16_t>(1));
    h.put(static_cast<uint16_t>(16));
    h.put(e.usize);
    h.put(e.csize);
  }
  out.write(h);
  if (compressed) {
    out.write(deflated.data(), deflated.size());
  } else {
    out.write(head.data(), head.size());
    out.write(data, nbytes);
  }
  entries.push_back(std::move(e));
}

void write_directory(CountingWriter& out, const std::vector<Entry>& entries) {
  uint64_t cd_start = out.pos;
  Bytes cd;
  for (auto& e : entries) {
    Bytes extra;
    if (e.usize >= k32) extra.put(e.usize);
    if (e.csize >= k32) extra.put(e.csize);
    if (e.offset >= k32) extra.put(e.offset);
    bool zip64 = !extra.v.empty();
    cd.put(kCentralSig);
    cd.put(static_cast<uint16_t>(0x0300 | 45));  // made by: Unix, spec 4.5
    cd.put(static_cast<uint16_t>(zip64 ? 45 : 20));
    cd.put(static_cast<uint16_t>(0x0800));
    cd.put(e.method);
    cd.put(static_cast<uint16_t>(0));
    cd.put(kDosDate1980);
    cd.put(e.crc);
    cd.put(static_cast<uint32_t>(e.csize >= k32 ? k32 : e.csize));
    cd.put(static_cast<uint32_t>(e.usize >= k32 ? k32 : e.usize));
    cd.put(static_cast<uint16_t>(e.name.size()));
    cd.put(static_cast<uint16_t>(zip64 ? extra.v.size() + 4 : 0));
    cd.put(static_cast<uint16_t>(0));  // comment
    cd.put(static_cast<uint16_t>(0));  // disk
    cd.put(static_cast<uint16_t>(0));  // internal attributes
    cd.put(static_cast<uint32_t>(0100644u << 16));
    cd.put(static_cast<uint32_t>(e.offset >= k32 ? k32 : e.offset));
    cd.put(e.name);
    if (zip64) {
      cd.put(static_cast<uint16_t>(1));
      cd.put(static_cast<uint16_t>(extra.v.size()));
      cd.put(extra.v.data(), extra.v.size());
    }
  }
  out.write(cd);
  uint64_t cd_size = cd.v.size(), n = entries.size();
  Bytes end;
  if (n >= 0xffff || cd_size >= k32 || cd_start >= k32) {
    uint64_t rec = out.pos;
    end.put(kEnd64Sig);
    end.put(static_cast<uint64_t>(44));
    end.put(static_cast<uint16_t>(0x0300 | 45));
    end.put(static_cast<uint16_t>(45));
    end.put(static_cast<uint32_t>(0));
    end.put(static_cast<uint32_t>(0));
    end.put(n);
    end.put(n);
    end.put(cd_size);
    end.put(cd_start);
    end.put(kLocator64Sig);
    end.put(static_cast<uint32_t>(0));
    end.put(rec);
    end.put(static_cast<uint32_t>(1));
  }
  end.put(kEndSig);
  end.put(static_cast<uint16_t>(0));
  end.put(static_cast<uint16_t>(0));
  end.put(static_cast<uint16_t>(std::min<uint64_t>(n, 0xffff)));
  end.put(static_cast<uint16_t>(std::min<uint64_t>(n, 0xffff)));
  end.put(static_cast<uint32_t>(std::min<uint64_t>(cd_size, k32)));
  end.put(static_cast<uint32_t>(std::min<uint64_t>(cd_start, k32)));
  end.put(static_cast<uint16_t>(0));
  out.write(end);
}

// One entry's bytes as a Reader that must be read front to back (as load_npy_at does): stored
// entries are copied, deflated ones inflated, and the CRC-32 of everything read is kept.
class EntryReader : public Reader {
 public:
  EntryReader(Reader& base, const Entry& e, uint64_t data_start, std::string label)
      : base_(base), e_(e), start_(data_start), label_(std::move(label)) {
    if (e_.method == 8) {
      if (inflateInit2(&z_, -15) != Z_OK) throw std::runtime_error("[load] zlib failed to initialize.");
      inflating_ = true;
    }
  }
  ~EntryReader() override {
    if (inflating_) inflateEnd(&z_);
  }
  uint64_t size() override { return e_.usize; }
  std::string label() const override { return label_; }

  void read(void* out, uint64_t n, uint64_t offset) override {
    if (offset < pos_) throw std::logic_error("[load] EntryReader reads must go forward.");
    if (n > e_.usize || offset > e_.usize - n) malformed("load", label_, "a read runs past the end of the entry");
    if (offset > pos_) skip(offset - pos_);
    produce(static_cast<char*>(out), n);
  }

  /** Reads what is left and checks the entry ends where the directory says, with its CRC. */
  void finish() {
    skip(e_.usize - pos_);
    if (inflating_) {
      // The deflate stream must end exactly here.
      char probe;
      z_.next_out = reinterpret_cast<Bytef*>(&probe);
      z_.avail_out = 1;
      int rc = pump();
      if (rc != Z_STREAM_END || z_.avail_out == 0) {
        malformed("load", label_, "the compressed data does not end where the directory says");
      }
    }
    if (crc_ != e_.crc) malformed("load", label_, "CRC-32 mismatch (corrupt data)");
  }

 private:
  void skip(uint64_t n) {
    std::vector<char> scratch(static_cast<size_t>(std::min<uint64_t>(n, 1 << 20)));
    while (n > 0) {
      uint64_t k = std::min<uint64_t>(n, scratch.size());
      produce(scratch.data(), k);
      n -= k;
    }
  }
  void produce(char* out, uint64_t n) {
    if (!inflating_) {
      base_.read(out, n, start_ + pos_);
    } else {
      uint64_t left = n;
      char* p = out;
      while (left > 0) {
        uInt chunk = static_cast<uInt>(std::min<uint64_t>(left, 1u << 30));
        z_.next_out = reinterpret_cast<Bytef*>(p);
        z_.avail_out = chunk;
        while (z_.avail_out > 0) {
          int rc = pump();
          if (rc == Z_STREAM_END && z_.avail_out > 0) {
            malformed("load", label_, "the compressed data ends early");
          }
        }
        p += chunk;
        left -= chunk;
      }
    }
    crc_ = crc32_of(crc_, out, n);
    pos_ += n;
  }
  // One inflate step, refilling the input from the file as needed.
  int pump() {
    if (z_.avail_in == 0 && consumed_ < e_.csize) {
      uint64_t k = std::min<uint64_t>(e_.csize - consumed_, 1 << 18);
      in_.resize(static_cast<size_t>(k));
      base_.read(in_.data(), k, start_ + consumed_);
      consumed_ += k;
      z_.next_in = reinterpret_cast<Bytef*>(in_.data());
      z_.avail_in = static_cast<uInt>(k);
    }
    uInt before = z_.avail_out;
    int rc = inflate(&z_, Z_NO_FLUSH);
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_MEM_ERROR || rc == Z_STREAM_ERROR) {
      malformed("load", label_, "corrupt compressed data");
    }
    if (rc == Z_BUF_ERROR && z_.avail_in == 0 && consumed_ >= e_.csize && z_.avail_out == before) {
      malformed("load", label_, "the compressed data is truncated");
    }
    return rc;
  }

  Reader& base_;
  Entry e_;
  uint64_t start_;
  std::string label_;
  z_stream z_{};
  bool inflating_ = false;
  std::vector<char> in_;
  uint64_t consumed_ = 0, pos_ = 0;
  uint32_t crc_ = 0;
};

// The central directory: where it is (from the end records) and its entries.
std::vector<Entry> read_directory(Reader& in) {
  const std::string label = in.label();
  auto bad = [&](const std::string& what) { malformed("load", label, what); };
  uint64_t size = in.size();
  if (size < 22) bad("too small to be a zip (.npz) file");
  uint64_t tail = std::min<uint64_t>(size, 22 + 0xffff);
  std::vector<char> t(static_cast<size_t>(tail));
  in.read(t.data(), tail, size - tail);
  int64_t at = -1;
  for (int64_t i = static_cast<int64_t>(tail) - 22; i >= 0; --i) {
    uint32_t sig;
    std::memcpy(&sig, t.data() + i, 4);
    uint16_t clen;
    std::memcpy(&clen, t.data() + i + 20, 2);
    if (sig == kEndSig && static_cast<uint64_t>(i) + 22 + clen <= tail) {
      at = i;
      break;
    }
  }
  if (at < 0) bad("not a zip (.npz) file: no end-of-central-directory record");
  uint64_t end_pos = size - tail + static_cast<uint64_t>(at);
  const char* r = t.data() + at;
  uint16_t n16;
  uint32_t cd_size32, cd_off32;
  std::memcpy(&n16, r + 10, 2);
  std::memcpy(&cd_size32, r + 12, 4);
  std::memcpy(&cd_off32, r + 16, 4);
  uint64_t n = n16, cd_size = cd_size32, cd_off = cd_off32;
  if ((n16 == 0xffff || cd_size32 == k32 || cd_off32 == k32) && end_pos >= 20) {
    Cursor c(in, "load", end_pos - 20, end_pos);
    if (c.get<uint32_t>() == kLocator64Sig) {
      c.get<uint32_t>();
      uint64_t rec = c.get<uint64_t>();
      Cursor z(in, "load", rec, end_pos);
      if (z.get<uint32_t>("the ZIP64 record") != kEnd64Sig) bad("bad ZIP64 end record");
      z.get<uint64_t>();
      z.get<uint32_t>();
      z.get<uint32_t>();
      z.get<uint64_t>();
      n = z.get<uint64_t>();
      cd_size = z.get<uint64_t>();
      cd_off = z.get<uint64_t>();
      end_pos = rec;
    }
  }
  if (cd_off > end_pos || cd_size > end_pos - cd_off) bad("the central directory lies outside the file");
  if (n > cd_size / 46) bad("the entry count does not fit the central directory");
  Cursor c(in, "load", cd_off, cd_off + cd_size);
  std::vector<Entry> entries;
  for (uint64_t i = 0; i < n; ++i) {
    if (c.get<uint32_t>("a directory entry") != kCentralSig) bad("bad central directory entry");
    c.get<uint16_t>();
    c.get<uint16_t>();
    uint16_t flags = c.get<uint16_t>();
    Entry e;
    e.method = c.get<uint16_t>();
    c.get<uint32_t>();
    e.crc = c.get<uint32_t>();
    e.csize = c.get<uint32_t>();
    e.usize = c.get<uint32_t>();
    uint16_t name_len = c.get<uint16_t>(), extra_len = c.get<uint16_t>(), comment_len = c.get<uint16_t>();
    c.get<uint16_t>();
    c.get<uint16_t>();
    c.get<uint32_t>();
    e.offset = c.get<uint32_t>();
    e.name = c.string(name_len, "an entry name");
    uint64_t extra_end = c.pos() + extra_len;
    if (extra_len > c.remaining()) bad("an entry's extra field runs past the directory");
    while (c.pos() + 4 <= extra_end) {
      uint16_t id = c.get<uint16_t>(), len = c.get<uint16_t>();
      if (len > extra_end - c.pos()) bad("an entry's extra field is malformed");
      uint64_t next = c.pos() + len;
      if (id == 1) {
        auto take = [&](uint64_t& v) {
          if (v == k32) {
            if (c.pos() + 8 > next) bad("a ZIP64 extra field is too short");
            v = c.get<uint64_t>();
          }
        };
        take(e.usize);
        take(e.csize);
        take(e.offset);
      }
      c.seek(next);
    }
    c.seek(extra_end);
    if (comment_len > c.remaining()) bad("an entry comment runs past the directory");
    c.seek(c.pos() + comment_len);
    if (flags & 1) bad("entry '" + e.name + "' is encrypted");
    if (e.method != 0 && e.method != 8) {
      bad("entry '" + e.name + "' uses compression method " + std::to_string(e.method) +
          " (only stored and deflate are supported)");
    }
    if (e.method == 0 && e.csize != e.usize) bad("entry '" + e.name + "' is stored with two different sizes");
    // Deflate expands at most ~1032:1; a larger claim is a corrupt size field.
    if (e.method == 8 && e.usize / 1032 > e.csize + 64) bad("entry '" + e.name + "' claims an impossible size");
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace
}  // namespace io

void savez(Writer& out, const std::vector<std::pair<std::string, array>>& arrays, bool compressed) {
  std::vector<array> dense;
  for (auto& [name, a] : arrays) dense.push_back(io::dense(a));
  io::CountingWriter w{out};
  std::vector<io::Entry> entries;
  for (size_t i = 0; i < arrays.size(); ++i) io::write_entry(w, entries, arrays[i].first, dense[i], compressed);
  io::write_directory(w, entries);
}

void savez(std::string file, const std::vector<std::pair<std::string, array>>& arrays, bool compressed) {
  std::vector<std::pair<std::string, array>> dense;
  for (auto& [name, a] : arrays) dense.emplace_back(name, io::dense(a));
  FileWriter w(io::with_extension(std::move(file), ".npz"));
  savez(w, dense, compressed);
}

ArrayMap load_npz(Reader& in) {
  auto entries = io::read_directory(in);
  ArrayMap out;
  for (auto& e : entries) {
    std::string label = in.label() + ":" + e.name;
    if (e.name.size() < 4 || e.name.compare(e.name.size() - 4, 4, ".npy") != 0) {
      io::malformed("load", in.label(), "entry '" + e.name + "' is not a .npy file");
    }
    std::string key = e.name.substr(0, e.name.size() - 4);
    if (out.count(key)) io::malformed("load", in.label(), "two entries are named '" + e.name + "'");
    // The local header's own name and extra lengths say where the data starts (read exactly, not
    // through a Cursor: its read-ahead would cost a buffer per entry).
    unsigned char local[30];
    if (e.offset > in.size() || in.size() - e.offset < 30) io::malformed("load", label, "the local header runs past the end");
    in.read(local, 30, e.offset);
    uint32_t sig;
    uint16_t name_len, extra_len;
    std::memcpy(&sig, local, 4);
    std::memcpy(&name_len, local + 26, 2);
    std::memcpy(&extra_len, local + 28, 2);
    if (sig != io::kLocalSig) io::malformed("load", label, "bad local header");
    uint64_t data = e.offset + 30 + name_len + extra_len;
    if (data > in.size() || e.csize > in.size() - data) io::malformed("load", label, "the entry's data runs past the end");
    io::EntryReader r(in, e, data, label);
    array a = io::load_npy_at(r, 0, e.usize, label);
    r.finish();
    out.emplace(std::move(key), std::move(a));
  }
  return out;
}

ArrayMap load_npz(const std::string& file) {
  FileReader r(file);
  return load_npz(r);
}

}  // namespace kiln
