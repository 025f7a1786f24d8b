from trainer.cli import main

main(prog_name="train")
