pragma circom 2.1.9;

// Integer multilayer perceptron (compute layer): range-checked packing of the committed limbs, the
// forward pass, and argmax. The arithmetic is agents/src/sdk/compute/model.ts's `infer`; the packing
// is agents/src/sdk/compute/commitment.ts's (read its header for the commitment rule).
//
// Parameters and values are passed as commitment LIMBS, all non-negative:
//   weight w (int8)  as w + 128     (8 bits)
//   bias b (int32)   as b + 2^31    (32 bits)
//   input x          as x           (INPUT_BITS bits, at most inMax)
// Keeping every witness value small (no negative number, which the field stores as p - |v|) is what
// keeps the prover fast: the cost of a multi-scalar multiplication grows with the scalars' size.

include "../../node_modules/circomlib/circuits/poseidon.circom";
include "../../node_modules/circomlib/circuits/bitify.circom";
include "../../node_modules/circomlib/circuits/comparators.circom";

function MLP_WEIGHT_BITS() { return 8; }
function MLP_WEIGHTS_PER_ELEMENT() { return 31; }
function MLP_BIAS_BITS() { return 32; }
function MLP_BIASES_PER_ELEMENT() { return 7; }
function MLP_INPUT_BITS() { return 5; }
function MLP_INPUTS_PER_ELEMENT() { return 50; }
function MLP_CHAIN_WIDTH() { return 15; }

function mlpCeilDiv(a, b) {
    return (a + b - 1) \ b;
}

function mlpLog2Ceil(x) {
    var n = 0;
    while ((1 << n) < x) { n++; }
    return n;
}

// Number of field elements the weights commitment absorbs.
function mlpWeightElements(nIn, nHid, nOut) {
    return mlpCeilDiv(nHid * nIn + nOut * nHid, MLP_WEIGHTS_PER_ELEMENT())
        + mlpCeilDiv(nHid + nOut, MLP_BIASES_PER_ELEMENT());
}

// limbs[i] < 2^bits for every i (each limb is bit-decomposed); packed[e] = sum_t limbs[e*per + t] * 2^(t*bits).
template PackLimbs(n, bits, per) {
    signal input limbs[n];
    signal output packed[mlpCeilDiv(n, per)];

    component range[n];
    var acc[mlpCeilDiv(n, per)];
    for (var e = 0; e < mlpCeilDiv(n, per); e++) { acc[e] = 0; }
    for (var i = 0; i < n; i++) {
        range[i] = Num2Bits(bits);
        range[i].in <== limbs[i];
        acc[i \ per] += limbs[i] * (1 << ((i % per) * bits));
    }
    for (var e = 0; e < mlpCeilDiv(n, per); e++) { packed[e] <== acc[e]; }
}

// acc = tag; for each group of `width` elements (zero-padded): acc = Poseidon(acc, group...).
template PoseidonChain(n, width) {
    signal input tag;
    signal input elements[n];
    signal output out;

    var groups = mlpCeilDiv(n, width);
    component hash[groups];
    for (var g = 0; g < groups; g++) {
        hash[g] = Poseidon(width + 1);
        if (g == 0) {
            hash[g].inputs[0] <== tag;
        } else {
            hash[g].inputs[0] <== hash[g - 1].out;
        }
        for (var t = 0; t < width; t++) {
            if (g * width + t < n) {
                hash[g].inputs[t + 1] <== elements[g * width + t];
            } else {
                hash[g].inputs[t + 1] <== 0;
            }
        }
    }
    out <== hash[groups - 1].out;
}

// max(0, v) for |v| < 2^(bits - 1); out is v or 0.
template Relu(bits) {
    signal input in;
    signal output out;

    // in + 2^(bits-1) lies in [0, 2^bits): its top bit is 1 exactly when in >= 0.
    component sign = Num2Bits(bits);
    sign.in <== in + (1 << (bits - 1));
    out <== sign.out[bits - 1] * in;
}

// `index` (public) is the argmax of `values` (each in [0, 2^bits)): values[index] >= values[k] for
// every k, and > for every k < index (the lowest index wins a tie); index < n.
template ArgmaxIs(n, bits) {
    signal input values[n];
    signal input index;

    component is[n];
    signal picked[n];
    var count = 0;
    var best = 0;
    for (var k = 0; k < n; k++) {
        is[k] = IsEqual();
        is[k].in[0] <== index;
        is[k].in[1] <== k;
        count += is[k].out;
        picked[k] <== is[k].out * values[k];
        best += picked[k];
    }
    // exactly one k equals index: index is one of 0..n-1
    count === 1;

    component margin[n];
    for (var k = 0; k < n; k++) {
        var after = 0; // 1 when k < index
        for (var m = k + 1; m < n; m++) { after += is[m].out; }
        margin[k] = Num2Bits(bits);
        margin[k].in <== best - values[k] - after;
    }
}

// The forward pass on limbs. Checks every limb's range, returns the packed elements for the
// commitments and the logits shifted by 2^(logitBits - 1) (so all non-negative; argmax unchanged).
template MlpForward(nIn, nHid, nOut, inMax) {
    var WB = MLP_WEIGHT_BITS();
    var BB = MLP_BIAS_BITS();
    var XB = MLP_INPUT_BITS();
    var W_OFF = 1 << (WB - 1);
    var B_OFF = 1 << (BB - 1);
    // |sum_i w x| <= nIn * 128 * inMax < 2^31, so |layer-1 pre-activation| < 2^32 and h < 2^32;
    // |sum_j w h| < nHid * 2^7 * 2^32, so |logit| < 2^(40 + log2 nHid).
    assert(inMax < (1 << XB));
    assert(nIn * W_OFF * inMax < (1 << 31));
    var PRE_BITS = 33;
    var LOGIT_BITS = 41 + mlpLog2Ceil(nHid);

    signal input x[nIn];
    signal input w1[nHid][nIn];
    signal input b1[nHid];
    signal input w2[nOut][nHid];
    signal input b2[nOut];

    signal output inputElements[mlpCeilDiv(nIn, MLP_INPUTS_PER_ELEMENT())];
    signal output weightElements[mlpWeightElements(nIn, nHid, nOut)];
    signal output logits[nOut];

    // Input: 5-bit limbs (x >= 0) and inMax - x >= 0.
    component inputs = PackLimbs(nIn, XB, MLP_INPUTS_PER_ELEMENT());
    inputs.limbs <== x;
    inputElements <== inputs.packed;
    component inputMax[nIn];
    for (var i = 0; i < nIn; i++) {
        inputMax[i] = Num2Bits(XB);
        inputMax[i].in <== inMax - x[i];
    }

    // Weights: W1 row by row, then W2 row by row; biases: b1, then b2.
    var nW = nHid * nIn + nOut * nHid;
    component weights = PackLimbs(nW, WB, MLP_WEIGHTS_PER_ELEMENT());
    for (var j = 0; j < nHid; j++) {
        for (var i = 0; i < nIn; i++) { weights.limbs[j * nIn + i] <== w1[j][i]; }
    }
    for (var k = 0; k < nOut; k++) {
        for (var j = 0; j < nHid; j++) { weights.limbs[nHid * nIn + k * nHid + j] <== w2[k][j]; }
    }
    component biases = PackLimbs(nHid + nOut, BB, MLP_BIASES_PER_ELEMENT());
    for (var j = 0; j < nHid; j++) { biases.limbs[j] <== b1[j]; }
    for (var k = 0; k < nOut; k++) { biases.limbs[nHid + k] <== b2[k]; }
    var nWE = mlpCeilDiv(nW, MLP_WEIGHTS_PER_ELEMENT());
    for (var e = 0; e < nWE; e++) { weightElements[e] <== weights.packed[e]; }
    for (var e = 0; e < mlpCeilDiv(nHid + nOut, MLP_BIASES_PER_ELEMENT()); e++) { weightElements[nWE + e] <== biases.packed[e]; }

    // Layer 1: pre_j = (b1_j - 2^31) + sum_i (w1_ji - 128) x_i = b1_j - 2^31 + sum_i w1_ji x_i - 128 sum_i x_i.
    var xSum = 0;
    for (var i = 0; i < nIn; i++) { xSum += x[i]; }
    signal p1[nHid][nIn];
    component relu[nHid];
    for (var j = 0; j < nHid; j++) {
        var acc = b1[j] - B_OFF - W_OFF * xSum;
        for (var i = 0; i < nIn; i++) {
            p1[j][i] <== w1[j][i] * x[i];
            acc += p1[j][i];
        }
        relu[j] = Relu(PRE_BITS);
        relu[j].in <== acc;
    }

    // Layer 2, shifted: logits_k = 2^(LOGIT_BITS-1) + b2_k - 2^31 + sum_j w2_kj h_j - 128 sum_j h_j.
    var hSum = 0;
    for (var j = 0; j < nHid; j++) { hSum += relu[j].out; }
    signal p2[nOut][nHid];
    for (var k = 0; k < nOut; k++) {
        var acc = (1 << (LOGIT_BITS - 1)) + b2[k] - B_OFF - W_OFF * hSum;
        for (var j = 0; j < nHid; j++) {
            p2[k][j] <== w2[k][j] * relu[j].out;
            acc += p2[k][j];
        }
        logits[k] <== acc;
    }
}

// Number of bits of a shifted logit of MlpForward (for ArgmaxIs).
function mlpLogitBits(nHid) {
    return 41 + mlpLog2Ceil(nHid);
}
