import { expect } from "chai";
import { STORAGE } from "../../../agents/src/generated/constants.js";
import { periodAt, periodWindow, provablePeriods } from "../../../agents/src/sdk/storage/periods.js";

const { PERIOD_BLOCKS, CHALLENGE_DELAY_BLOCKS, FAST_WINDOW_BLOCKS, DEADLINE_BLOCKS } = STORAGE;

describe("storage periods", () => {
  const start = 100;

  it("places every window where the market does", () => {
    const w = periodWindow(start, 3);
    expect(w.start).to.equal(start + 3 * PERIOD_BLOCKS);
    expect(w.challengeBlock).to.equal(w.start + CHALLENGE_DELAY_BLOCKS);
    expect(w.fastWindowEnd).to.equal(w.challengeBlock + FAST_WINDOW_BLOCKS);
    expect(w.deadline).to.equal(w.challengeBlock + DEADLINE_BLOCKS);
    expect(w.deadline).to.be.lessThan(periodWindow(start, 4).start);
  });

  it("maps blocks to periods", () => {
    expect(periodAt(start, start - 5)).to.equal(0);
    expect(periodAt(start, start + PERIOD_BLOCKS - 1)).to.equal(0);
    expect(periodAt(start, start + PERIOD_BLOCKS)).to.equal(1);
  });

  it("offers a period from its challenge block until a proof can no longer make its deadline", () => {
    const w = periodWindow(start, 2);
    expect(provablePeriods(start, 0, 10, w.challengeBlock - 1)).to.deep.equal([]);
    expect(provablePeriods(start, 0, 10, w.challengeBlock)).to.deep.equal([2]);
    expect(provablePeriods(start, 0, 10, w.deadline - 1)).to.deep.equal([2]);
    expect(provablePeriods(start, 0, 10, w.deadline)).to.deep.equal([]);
  });

  it("offers nothing before the slot's first period or after the deal's end", () => {
    const w = periodWindow(start, 2);
    expect(provablePeriods(start, 3, 10, w.challengeBlock)).to.deep.equal([]);
    expect(provablePeriods(start, 0, 2, w.challengeBlock)).to.deep.equal([]);
  });
});
