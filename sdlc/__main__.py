from sdlc.cli.main import main

main()
