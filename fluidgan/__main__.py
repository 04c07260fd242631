from fluidgan.cli import main

main()
