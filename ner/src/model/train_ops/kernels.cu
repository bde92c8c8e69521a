// One warp per row: lanes stride over the row's columns and reduce with shuffles.
__device__ float medlight_warp_sum(float x) {
    for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
    return x;
}

extern "C" __global__ void medlight_ln_fwd(const float* x, const float* w, const float* b, float* y,
                                           unsigned int rows, unsigned int h, float eps, int affine) {
    unsigned int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    unsigned int lane = threadIdx.x & 31;
    if (row >= rows) return;
    const float* xr = x + (unsigned long long)row * h;
    float* yr = y + (unsigned long long)row * h;
    float s = 0.0f;
    for (unsigned int c = lane; c < h; c += 32) s += xr[c];
    float mean = medlight_warp_sum(s) / h;
    float q = 0.0f;
    for (unsigned int c = lane; c < h; c += 32) { float d = xr[c] - mean; q += d * d; }
    float rstd = 1.0f / sqrtf(medlight_warp_sum(q) / h + eps);
    for (unsigned int c = lane; c < h; c += 32) {
        float n = (xr[c] - mean) * rstd;
        yr[c] = affine ? n * w[c] + b[c] : n;
    }
}

extern "C" __global__ void medlight_ln_bwd(const float* x, const float* w, const float* dy, float* dx,
                                           unsigned int rows, unsigned int h, float eps) {
    unsigned int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    unsigned int lane = threadIdx.x & 31;
    if (row >= rows) return;
    const float* xr = x + (unsigned long long)row * h;
    const float* dyr = dy + (unsigned long long)row * h;
    float* dxr = dx + (unsigned long long)row * h;
    float s = 0.0f;
    for (unsigned int c = lane; c < h; c += 32) s += xr[c];
    float mean = medlight_warp_sum(s) / h;
    float q = 0.0f;
    for (unsigned int c = lane; c < h; c += 32) { float d = xr[c] - mean; q += d * d; }
    float rstd = 1.0f / sqrtf(medlight_warp_sum(q) / h + eps);
    float gs = 0.0f, gxs = 0.0f;
    for (unsigned int c = lane; c < h; c += 32) {
        float g = dyr[c] * w[c];
        gs += g;
        gxs += g * (xr[c] - mean) * rstd;
    }
    float g_mean = medlight_warp_sum(gs) / h;
    float gx_mean = medlight_warp_sum(gxs) / h;
    for (unsigned int c = lane; c < h; c += 32) {
        dxr[c] = rstd * (dyr[c] * w[c] - g_mean - (xr[c] - mean) * rstd * gx_mean);
    }
}

extern "C" __global__ void medlight_dropout(const float* x, const float* u, float* y, float p, float keep,
                                            unsigned int n) {
    unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = u[i] >= p ? x[i] * keep : 0.0f;
}
