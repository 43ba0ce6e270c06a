pragma circom 2.1.0;

// MCP-ZERO trace batch circuit (ARCHITECTURE.md §5, "trace").
//
// Proves that a batch of up to N trace events extends the hash chain
//     h_0 = prevRoot,  h_i = Poseidon(h_{i-1}, eventHash_i, cost_i),  newRoot = h_count
// and that the batch's total cost is at most costLimit, revealing no individual event.
//
// Padding: a batch shorter than N fills the unused slots with active_i = 0. The active bits are
// boolean and monotone (1…1 0…0), so the real events are exactly the first `count` slots. An
// inactive slot must have cost 0 and eventHash 0 and leaves the chain unchanged (h_i = h_{i-1}).
// `count` (the number of real events) is a public output, so the verifier knows the batch length.
//
// Public signals, in snarkjs's publicSignals order (circom puts outputs first, then public inputs):
//     [0] newRoot   (output)
//     [1] totalCost (output)
//     [2] count     (output)
//     [3] prevRoot  (public input)
//     [4] costLimit (public input)
// Private inputs: eventHash[N], cost[N], active[N].
//
// Bounds: every cost < 2^32 (Num2Bits(32)); costLimit and totalCost < 2^64 (Num2Bits(64)), which
// makes the 64-bit LessEqThan sound; totalCost <= costLimit.

include "../node_modules/circomlib/circuits/poseidon.circom";
include "../node_modules/circomlib/circuits/bitify.circom";
include "../node_modules/circomlib/circuits/comparators.circom";

template TraceBatch(N) {
    signal input prevRoot;
    signal input costLimit;
    signal input eventHash[N];
    signal input cost[N];
    signal input active[N];

    signal output newRoot;
    signal output totalCost;
    signal output count;

    component hash[N];
    component costBits[N];
    signal h[N + 1];
    signal step[N];
    signal costSum[N + 1];
    signal activeSum[N + 1];

    h[0] <== prevRoot;
    costSum[0] <== 0;
    activeSum[0] <== 0;

    for (var i = 0; i < N; i++) {
        // active_i is a bit, and active_i <= active_{i-1} (monotone: 1…1 0…0).
        active[i] * (active[i] - 1) === 0;
        if (i > 0) {
            active[i] * (1 - active[i - 1]) === 0;
        }

        // Inactive slots carry nothing: cost 0 and eventHash 0.
        cost[i] * (1 - active[i]) === 0;
        eventHash[i] * (1 - active[i]) === 0;

        // cost_i < 2^32.
        costBits[i] = Num2Bits(32);
        costBits[i].in <== cost[i];

        // h_i = active_i ? Poseidon(h_{i-1}, eventHash_i, cost_i) : h_{i-1}
        hash[i] = Poseidon(3);
        hash[i].inputs[0] <== h[i];
        hash[i].inputs[1] <== eventHash[i];
        hash[i].inputs[2] <== cost[i];
        step[i] <== active[i] * (hash[i].out - h[i]);
        h[i + 1] <== h[i] + step[i];

        costSum[i + 1] <== costSum[i] + cost[i];
        activeSum[i + 1] <== activeSum[i] + active[i];
    }

    newRoot <== h[N];
    totalCost <== costSum[N];
    count <== activeSum[N];

    // totalCost <= costLimit, both range-checked to 64 bits first (LessEqThan(n) is only sound
    // for n-bit inputs).
    component limitBits = Num2Bits(64);
    limitBits.in <== costLimit;
    component totalBits = Num2Bits(64);
    totalBits.in <== totalCost;
    component withinLimit = LessEqThan(64);
    withinLimit.in[0] <== totalCost;
    withinLimit.in[1] <== costLimit;
    withinLimit.out === 1;
}

component main {public [prevRoot, costLimit]} = TraceBatch(32);
