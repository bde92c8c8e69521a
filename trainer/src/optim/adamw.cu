extern "C" __global__ void medlight_adamw_moment(float* m, const float* g, float beta, float coef,
                                                 int square, unsigned int n) {
    unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float x = g[i];
        m[i] = beta * m[i] + coef * (square ? x * x : x);
    }
}

extern "C" __global__ void medlight_adamw_step(float* theta, const float* m, const float* v, float decay,
                                               float lr_c1, float inv_c2, float eps, unsigned int n) {
    unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        theta[i] = theta[i] * decay - lr_c1 * m[i] / (sqrtf(v[i] * inv_c2) + eps);
    }
}

// The whole model at once. `table` holds one entry of ENTRY words per parameter: the addresses of
// its gradient, moments and weight, its length, and whether it decays. blockIdx.y picks the entry;
// the blocks along x stride over its elements.
#define ENTRY 6

extern "C" __global__ void medlight_grad_sumsq(const unsigned long long* table, float* sumsq) {
    const unsigned long long* e = table + ENTRY * blockIdx.y;
    const float* g = (const float*)e[0];
    unsigned long long n = e[4];
    float acc = 0.0f;
    for (unsigned long long i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (unsigned long long)gridDim.x * blockDim.x) {
        float x = g[i];
        acc += x * x;
    }
    for (int offset = 16; offset > 0; offset >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, offset);
    __shared__ float warps[32];
    unsigned int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) warps[warp] = acc;
    __syncthreads();
    if (warp == 0) {
        acc = lane < (blockDim.x >> 5) ? warps[lane] : 0.0f;
        for (int offset = 16; offset > 0; offset >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, offset);
        if (lane == 0) atomicAdd(sumsq, acc);
    }
}

extern "C" __global__ void medlight_adamw_all(const unsigned long long* table, const float* sumsq, float max_norm,
                                              float beta1, float beta2, float decay, float lr_c1, float inv_c2,
                                              float eps) {
    const unsigned long long* e = table + ENTRY * blockIdx.y;
    const float* g = (const float*)e[0];
    float* m = (float*)e[1];
    float* v = (float*)e[2];
    float* theta = (float*)e[3];
    unsigned long long n = e[4];
    float d = e[5] ? decay : 1.0f;
    // Clipping, decided here from the norm the first kernel summed: no trip to the host.
    float norm = sqrtf(*sumsq);
    float scale = (max_norm > 0.0f && norm > max_norm) ? max_norm / (norm + 1e-6f) : 1.0f;
    float c1 = (1.0f - beta1) * scale, c2 = (1.0f - beta2) * scale * scale;
    for (unsigned long long i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (unsigned long long)gridDim.x * blockDim.x) {
        float x = g[i];
        float mi = beta1 * m[i] + c1 * x;
        float vi = beta2 * v[i] + c2 * (x * x);
        m[i] = mi;
        v[i] = vi;
        theta[i] = theta[i] * d - lr_c1 * mi / (sqrtf(vi * inv_c2) + eps);
    }
}
