// @vitest-environment jsdom
// jsdom, not happy-dom: DOMPurify needs an HTML parser that nests like a browser's.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MessageBody } from "../src/components/MessageBody.jsx";
import { act, click, mount } from "./helpers/dom.js";

let view;
let writeText;

beforeEach(() => {
  writeText = vi.fn(() => Promise.resolve());
  Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
});

afterEach(() => {
  view?.unmount();
  view = null;
  delete navigator.clipboard;
  vi.useRealTimers();
});

const CODE = "```python\nimport pandas as pd\ndf = pd.read_csv('x.csv')\n```";

describe("MessageBody", () => {
  it("renders the body as sanitized markdown", () => {
    view = mount(<MessageBody body={"**hi** <img src=x onerror=alert(1)>\n- [x] done"} />);
    const body = view.container.querySelector(".tx-body");
    expect(body.getAttribute("dir")).toBe("auto");
    expect(body.querySelector("strong").textContent).toBe("hi");
    expect(body.querySelector("img")).toBeNull();
    expect(body.querySelector("input[type=checkbox]").checked).toBe(true);
  });

  it("copies a code block's code, says so, then offers to copy again", async () => {
    vi.useFakeTimers();
    view = mount(<MessageBody body={`look:\n${CODE}`} />);
    const button = view.container.querySelector(".tx-copy");
    click(button);
    expect(writeText).toHaveBeenCalledWith("import pandas as pd\ndf = pd.read_csv('x.csv')");
    await act(async () => {});
    expect(button.textContent).toBe("Copied");
    act(() => vi.advanceTimersByTime(1500));
    expect(button.textContent).toBe("Copy");
  });

  it("copies the block that was clicked", () => {
    view = mount(<MessageBody body={"```sql\nselect 1\n```\n\n```bash\nls -l\n```"} />);
    click(view.container.querySelectorAll(".tx-copy")[1]);
    expect(writeText).toHaveBeenCalledWith("ls -l");
  });

  it("selects the code when the clipboard is out of reach", async () => {
    writeText.mockImplementation(() => Promise.reject(new Error("denied")));
    view = mount(<MessageBody body={CODE} />);
    const button = view.container.querySelector(".tx-copy");
    click(button);
    await act(async () => {});
    expect(button.textContent).toBe("Selected");
    expect(window.getSelection().toString()).toBe("import pandas as pd\ndf = pd.read_csv('x.csv')");
  });

  it("ignores clicks elsewhere in the body", () => {
    view = mount(<MessageBody body={CODE} />);
    click(view.container.querySelector("code"));
    expect(writeText).not.toHaveBeenCalled();
  });
});
