"""Entry point for `python app.py`, `gradio app.py` and Hugging Face Spaces."""
from siamese_demo.ui import build_demo

demo = build_demo()

if __name__ == "__main__":
    demo.launch()
