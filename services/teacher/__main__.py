import asyncio

from services.teacher.app import app

if __name__ == "__main__":
    asyncio.run(app.run())
