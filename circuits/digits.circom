pragma circom 2.1.9;

// Verifiable inference of the compute layer's digits model (MLP 64 → 16 → 10, integers only).
//
// Statement: "the model committed to by weightsCommitment, run on the input committed to by
// inputCommitment, outputs class `outputClass`", for job `jobId`, proven by `prover`.
//
// Public inputs (in this order):
//   weightsCommitment  ModelRegistry's commitment to the quantised weights and biases
//   inputCommitment    the job's commitment to its input
//   outputClass        the predicted class, 0..9 (argmax of the logits, lowest index on a tie;
//                      `output` is a circom keyword)
//   jobId              ComputeMarket's job id     } not used by the computation: bound below so that a
//   prover             the provider's address     } proof cannot be replayed for another job or provider
//
// Private inputs, as commitment limbs (see circuits/lib/mlp.circom):
//   x[64]        pixels 0..16
//   w1[16][64]   W1 + 128        b1[16]   b1 + 2^31
//   w2[10][16]   W2 + 128        b2[10]   b2 + 2^31
//
// The commitments are agents/src/sdk/compute/commitment.ts's: every limb is range-checked before it
// is packed, so each commitment opens to exactly one model and one input.

include "../node_modules/circomlib/circuits/poseidon.circom";
include "./lib/mlp.circom";

template MlpInferenceProof(nIn, nHid, nOut, inMax) {
    signal input weightsCommitment;
    signal input inputCommitment;
    signal input outputClass;
    signal input jobId;
    signal input prover;

    signal input x[nIn];
    signal input w1[nHid][nIn];
    signal input b1[nHid];
    signal input w2[nOut][nHid];
    signal input b2[nOut];

    component net = MlpForward(nIn, nHid, nOut, inMax);
    net.x <== x;
    net.w1 <== w1;
    net.b1 <== b1;
    net.w2 <== w2;
    net.b2 <== b2;

    component argmax = ArgmaxIs(nOut, mlpLogitBits(nHid));
    argmax.values <== net.logits;
    argmax.index <== outputClass;

    // Weights commitment: a Poseidon chain from the shape tag (1·2^128 + I·2^96 + H·2^64 + O·2^32 + M).
    var nWE = mlpWeightElements(nIn, nHid, nOut);
    component weights = PoseidonChain(nWE, MLP_CHAIN_WIDTH());
    weights.tag <== (1 << 128) + nIn * (1 << 96) + nHid * (1 << 64) + nOut * (1 << 32) + inMax;
    weights.elements <== net.weightElements;
    weights.out === weightsCommitment;

    // Input commitment: Poseidon(2·2^128 + I·2^96 + M, e_0, e_1, ...).
    var nXE = mlpCeilDiv(nIn, MLP_INPUTS_PER_ELEMENT());
    component inputHash = Poseidon(nXE + 1);
    inputHash.inputs[0] <== (2 << 128) + nIn * (1 << 96) + inMax;
    for (var e = 0; e < nXE; e++) { inputHash.inputs[e + 1] <== net.inputElements[e]; }
    inputHash.out === inputCommitment;

    // Bind the job and the prover (a constraint the optimiser cannot drop).
    signal jobIdSquare <== jobId * jobId;
    signal proverSquare <== prover * prover;
}

component main {public [weightsCommitment, inputCommitment, outputClass, jobId, prover]} = MlpInferenceProof(64, 16, 10, 16);
