// Helper kernels of the linalg family; the factorizations themselves are cuSOLVER/cuBLAS calls
// in linalg.cpp. All are simple index maps, one thread per output element (or per matrix row).
#include "kiln/backend/cuda/kernels.h"
#include "kiln/backend/cuda/linalg.h"

namespace kiln::cuda::linalg {

namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t n) {
  int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 65535LL * 1024 ? 65535LL * 1024 : b));
}

template <typename T>
__global__ void identity_kernel(T* out, int64_t total, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t e = i % (n * n);
    out[i] = (e / n == e % n) ? T(1) : T(0);
  }
}

template <typename T>
__global__ void zero_triangle_kernel(T* a, int64_t total, int64_t n, bool keep_upper) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t e = i % (n * n);
    int64_t r = e / n, c = e % n;
    if (keep_upper ? c < r : c > r) a[i] = T(0);
  }
}

__global__ void pointer_kernel(void** ptrs, char* base, int64_t stride, int64_t batch) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < batch; i += int64_t(gridDim.x) * blockDim.x) {
    ptrs[i] = base + i * stride;
  }
}

// One thread per matrix: the pivots are sequential row swaps.
template <typename I>
__global__ void lu_pivots_kernel(const I* ipiv, uint32_t* piv, uint32_t* perm, uint32_t* rows, int64_t batch,
                                 int64_t m, int64_t k) {
  int64_t b = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (b >= batch) return;
  const I* ip = ipiv + b * k;
  uint32_t* pv = piv + b * k;
  uint32_t* pm = perm + b * m;
  uint32_t* rw = rows + b * m;
  for (int64_t i = 0; i < m; ++i) rw[i] = static_cast<uint32_t>(i);
  for (int64_t i = 0; i < k; ++i) {
    uint32_t p = static_cast<uint32_t>(ip[i] - 1);
    pv[i] = p;
    uint32_t t = rw[i];
    rw[i] = rw[p];
    rw[p] = t;
  }
  // L @ U holds the rows of A in the order `rw`; perm is the inverse permutation.
  for (int64_t i = 0; i < m; ++i) pm[rw[i]] = static_cast<uint32_t>(i);
}

template <typename T>
__global__ void qr_r_kernel(const T* w, T* r, int64_t total, int64_t m, int64_t n, int64_t k) {
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total;
       idx += int64_t(gridDim.x) * blockDim.x) {
    int64_t b = idx / (k * n), e = idx % (k * n);
    int64_t i = e / n, j = e % n;
    r[idx] = j >= i ? w[b * m * n + i + j * m] : T(0);
  }
}

// One thread per (matrix, row i): walks the columns in order, as the pairs must be seen.
template <typename T>
__global__ void eig_pack_kernel(const T* wri, const T* vr, float* w, float* v, int64_t batch, int64_t n) {
  int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (idx >= batch * n) return;
  int64_t b = idx / n, i = idx % n;
  const T* wr = wri + b * 2 * n;
  const T* wi = wr + n;
  w[2 * idx] = static_cast<float>(wr[i]);
  w[2 * idx + 1] = static_cast<float>(wi[i]);
  if (vr == nullptr) return;
  const T* vb = vr + b * n * n;
  float* out = v + 2 * (b * n * n + i * n);
  for (int64_t j = 0; j < n; ++j) {
    if (wi[j] != T(0) && j + 1 < n) {
      float re = static_cast<float>(vb[i + j * n]), im = static_cast<float>(vb[i + (j + 1) * n]);
      out[2 * j] = re;
      out[2 * j + 1] = im;
      out[2 * (j + 1)] = re;
      out[2 * (j + 1) + 1] = -im;
      ++j;
    } else {
      out[2 * j] = static_cast<float>(vb[i + j * n]);
      out[2 * j + 1] = 0.0f;
    }
  }
}

}  // namespace

void identity(bool dbl, void* out, int64_t batch, int64_t n, cudaStream_t s) {
  int64_t total = batch * n * n;
  if (total == 0) return;
  if (dbl) {
    identity_kernel<<<blocks_for(total), kThreads, 0, s>>>(static_cast<double*>(out), total, n);
  } else {
    identity_kernel<<<blocks_for(total), kThreads, 0, s>>>(static_cast<float*>(out), total, n);
  }
  check_launch("linalg identity");
}

void zero_triangle(bool dbl, void* a, int64_t batch, int64_t n, bool keep_upper, cudaStream_t s) {
  int64_t total = batch * n * n;
  if (total == 0) return;
  if (dbl) {
    zero_triangle_kernel<<<blocks_for(total), kThreads, 0, s>>>(static_cast<double*>(a), total, n, keep_upper);
  } else {
    zero_triangle_kernel<<<blocks_for(total), kThreads, 0, s>>>(static_cast<float*>(a), total, n, keep_upper);
  }
  check_launch("linalg zero_triangle");
}

void pointer_array(void** ptrs, void* base, int64_t stride_bytes, int64_t batch, cudaStream_t s) {
  if (batch == 0) return;
  pointer_kernel<<<blocks_for(batch), kThreads, 0, s>>>(ptrs, static_cast<char*>(base), stride_bytes, batch);
  check_launch("linalg pointer_array");
}

void lu_pivots(const void* ipiv, bool wide, uint32_t* piv, uint32_t* perm, uint32_t* rows, int64_t batch, int64_t m,
               int64_t k, cudaStream_t s) {
  if (batch == 0 || m == 0) return;
  unsigned blocks = static_cast<unsigned>((batch + 127) / 128);
  if (wide) {
    lu_pivots_kernel<<<blocks, 128, 0, s>>>(static_cast<const int64_t*>(ipiv), piv, perm, rows, batch, m, k);
  } else {
    lu_pivots_kernel<<<blocks, 128, 0, s>>>(static_cast<const int*>(ipiv), piv, perm, rows, batch, m, k);
  }
  check_launch("linalg lu_pivots");
}

void qr_r(bool dbl, const void* w, void* r, int64_t batch, int64_t m, int64_t n, int64_t k, cudaStream_t s) {
  int64_t total = batch * k * n;
  if (total == 0) return;
  if (dbl) {
    qr_r_kernel<<<blocks_for(total), kThreads, 0, s>>>(static_cast<const double*>(w), static_cast<double*>(r), total,
                                                        m, n, k);
  } else {
    qr_r_kernel<<<blocks_for(total), kThreads, 0, s>>>(static_cast<const float*>(w), static_cast<float*>(r), total, m,
                                                        n, k);
  }
  check_launch("linalg qr_r");
}

void eig_pack(bool dbl, const void* wri, const void* vr, float* w, float* v, int64_t batch, int64_t n,
              cudaStream_t s) {
  int64_t total = batch * n;
  if (total == 0) return;
  unsigned blocks = static_cast<unsigned>((total + 127) / 128);
  if (dbl) {
    eig_pack_kernel<<<blocks, 128, 0, s>>>(static_cast<const double*>(wri), static_cast<const double*>(vr), w, v,
                                           batch, n);
  } else {
    eig_pack_kernel<<<blocks, 128, 0, s>>>(static_cast<const float*>(wri), static_cast<const float*>(vr), w, v, batch,
                                           n);
  }
  check_launch("linalg eig_pack");
}

}  // namespace kiln::cuda::linalg
